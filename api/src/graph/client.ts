/**
 * A small Microsoft Graph client for tools: OBO token in, Graph's error envelope out as a `Failure`.
 *
 * The caller's own token is never sent to Graph: every call carries a Graph token obtained On-Behalf-Of
 * the user, for exactly the calling tool's permissions (`scopes`). A `401` from Graph drops the cached
 * token and retries once with a fresh exchange; a `401` with a CAE claims challenge
 * (`error="insufficient_claims"`) retries once with an exchange that carries those claims, and if Graph
 * still challenges, the claims reach the user as an `insufficient_claims` failure. Every request has a
 * deadline and at most one quick retry (`core/deadlines.ts`).
 *
 * @module
 */

import { DEADLINES, parseRetryAfter, quickRetryDelay, sleep } from "../core/deadlines.ts";
import { Failure } from "../core/failure.ts";
import type { Principal } from "../core/principal.ts";
import { inSpan, SpanKind } from "../core/telemetry.ts";
import type { GraphTokenProvider } from "../entra/obo.ts";

export interface GraphClient {
  /** GET a Graph path (e.g. `/me?$select=id`) as JSON. */
  getJson<T = Record<string, unknown>>(path: string): Promise<T>;
  /** GET a Graph path as bytes, with its content type (e.g. `/me/photo/$value`). */
  getBytes(path: string): Promise<{ bytes: Uint8Array; contentType: string } | null>;
  /**
   * One page of a Graph collection: the first at `path` (with its query), or the one a `cursor` from an
   * earlier page points to. `nextCursor` is Graph's `@odata.nextLink`, opaque to the caller and tied to
   * `path`: a cursor for another path (or another host) is refused, so a client can never steer the
   * server's Graph token elsewhere.
   */
  getPage<T = Record<string, unknown>>(
    path: string,
    cursor?: string,
  ): Promise<{ items: T[]; nextCursor?: string }>;
}

export interface GraphClientDeps {
  baseUrl: string;
  tokens: GraphTokenProvider;
  /** The Graph scopes to exchange for (the tool's declared permissions); `.default` when absent. */
  scopes?: string[];
  fetch?: typeof fetch;
}

/**
 * The claims of a CAE challenge: `WWW-Authenticate: Bearer …, error="insufficient_claims", claims="<base64>"`,
 * decoded to the JSON the token request takes.
 */
export function claimsChallenge(header: string | null): string | undefined {
  if (!header || !/error="insufficient_claims"/.test(header)) return undefined;
  const b64 = /claims="([^"]*)"/.exec(header)?.[1];
  if (!b64) return undefined;
  try {
    const json = new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    JSON.parse(json);
    return json;
  } catch {
    return undefined;
  }
}

export function graphClientFor(principal: Principal, deps: GraphClientDeps): GraphClient {
  const doFetch = deps.fetch ?? fetch;

  /**
   * One GET within `DEADLINES.graphMs`: a `401` drops the cached token and tries once with a fresh
   * exchange; a 5xx, 429 or dropped connection is tried once more when the wait fits (`quickRetryDelay`).
   */
  async function get(path: string, accept: string): Promise<Response> {
    const signal = AbortSignal.timeout(DEADLINES.graphMs);
    const endAt = Date.now() + DEADLINES.graphMs;
    let refreshed = false;
    let retried = false;
    let claims: string | undefined;
    for (;;) {
      const token = await deps.tokens.getToken(principal, deps.scopes, claims ? { claims } : {});
      let res: Response;
      try {
        // The span names no path and no query (they can name people or what they look for): the status only.
        res = await inSpan(
          "graph.request",
          { "http.request.method": "GET" },
          async (span) => {
            const answer = await doFetch(`${deps.baseUrl}${path}`, {
              headers: { authorization: `Bearer ${token}`, accept },
              signal,
            });
            span.setAttribute("http.response.status_code", answer.status);
            return answer;
          },
          SpanKind.CLIENT,
        );
      } catch (err) {
        const wait = retried || signal.aborted ? undefined : quickRetryDelay(undefined, endAt - Date.now());
        if (wait !== undefined) {
          retried = true;
          await sleep(wait, signal).catch(() => {});
          if (!signal.aborted) continue;
        }
        throw new Failure(
          "upstream_unavailable",
          signal.aborted
            ? `Microsoft Graph did not answer within ${DEADLINES.graphMs / 1000} seconds; try again shortly.`
            : "Microsoft Graph could not be reached; try again shortly.",
          { cause: err },
        );
      }
      const challenge = res.status === 401 ? claimsChallenge(res.headers.get("www-authenticate")) : undefined;
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        deps.tokens.invalidate(principal, deps.scopes);
        await res.body?.cancel();
        claims = challenge;
        continue;
      }
      if (challenge) {
        await res.body?.cancel();
        throw new Failure(
          "insufficient_claims",
          "Microsoft Graph asks for a new sign-in (Continuous Access Evaluation): your session changed, " +
            "for example your location, device or sign-in was revoked.",
          { claims: challenge },
        );
      }
      if ((res.status >= 500 || res.status === 429) && !retried) {
        const wait = quickRetryDelay(parseRetryAfter(res.headers.get("retry-after")), endAt - Date.now());
        if (wait !== undefined) {
          retried = true;
          await res.body?.cancel();
          await sleep(wait, signal).catch(() => {});
          if (!signal.aborted) continue;
          throw new Failure(
            "upstream_unavailable",
            "Microsoft Graph did not answer in time; try again shortly.",
          );
        }
      }
      return res;
    }
  }

  async function failure(res: Response): Promise<Failure> {
    let code = "";
    let message = "";
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? "";
      message = body.error?.message ?? "";
    } catch {
      // not Graph's JSON envelope; the status says enough
    }
    const detail = code ? ` (${code})` : "";
    if (res.status === 429) {
      const retryAfterSec = parseRetryAfter(res.headers.get("retry-after")) || undefined;
      return new Failure(
        "throttled",
        `Microsoft Graph is throttling requests${detail}; try again${retryAfterSec ? ` in ${retryAfterSec} seconds` : " shortly"}.`,
        { retryAfterSec },
      );
    }
    if (res.status >= 500) {
      const retryAfterSec = parseRetryAfter(res.headers.get("retry-after")) || undefined;
      return new Failure(
        "upstream_unavailable",
        `Microsoft Graph is unavailable (HTTP ${res.status})${detail}; try again ${retryAfterSec ? `in ${retryAfterSec} seconds` : "shortly"}.`,
        { retryAfterSec },
      );
    }
    if (res.status === 403) {
      return new Failure(
        "consent_required",
        `Microsoft Graph denied access${detail}: ${message || "insufficient privileges"}.`,
      );
    }
    return new Failure(
      "upstream_error",
      `Microsoft Graph answered HTTP ${res.status}${detail}${message ? `: ${message}` : ""}.`,
    );
  }

  /** The relative path and query a cursor stands for, if it belongs to `path` on this Graph. */
  function pathOfCursor(path: string, cursor: string): string {
    let link: string;
    try {
      link = new TextDecoder().decode(
        Uint8Array.from(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)),
      );
    } catch {
      link = "";
    }
    const base = path.split("?")[0];
    if (!link.startsWith(`${base}?`)) {
      throw new Failure(
        "invalid_request",
        "The cursor is not one this tool gave out; start again without it.",
      );
    }
    return link;
  }

  function cursorOf(nextLink: unknown, path: string): string | undefined {
    if (typeof nextLink !== "string" || !nextLink.startsWith(`${deps.baseUrl}${path.split("?")[0]}?`))
      return undefined;
    const relative = nextLink.slice(deps.baseUrl.length);
    return btoa(String.fromCharCode(...new TextEncoder().encode(relative)))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  }

  async function getJson<T>(path: string): Promise<T> {
    const res = await get(path, "application/json");
    if (!res.ok) throw await failure(res);
    return (await res.json()) as T;
  }

  return {
    async getPage<T>(path: string, cursor?: string) {
      const body = await getJson<{ value?: T[]; "@odata.nextLink"?: string }>(
        cursor ? pathOfCursor(path, cursor) : path,
      );
      return { items: body.value ?? [], nextCursor: cursorOf(body["@odata.nextLink"], path) };
    },
    async getJson<T>(path: string) {
      const res = await get(path, "application/json");
      if (!res.ok) throw await failure(res);
      return (await res.json()) as T;
    },
    async getBytes(path: string) {
      const res = await get(path, "*/*");
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      if (!res.ok) throw await failure(res);
      return {
        bytes: new Uint8Array(await res.arrayBuffer()),
        contentType: res.headers.get("content-type") ?? "application/octet-stream",
      };
    },
  };
}
