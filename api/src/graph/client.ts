/**
 * A small Microsoft Graph client for tools: OBO token in, Graph's error envelope out as a `Failure`.
 *
 * The caller's own token is never sent to Graph: every call carries a Graph token obtained On-Behalf-Of
 * the user. A `401` from Graph drops the cached token and retries once with a fresh exchange; every
 * request has a deadline and at most one quick retry (`core/deadlines.ts`).
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
}

export interface GraphClientDeps {
  baseUrl: string;
  tokens: GraphTokenProvider;
  fetch?: typeof fetch;
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
    for (;;) {
      const token = await deps.tokens.getToken(principal);
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
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        deps.tokens.invalidate(principal);
        await res.body?.cancel();
        continue;
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

  return {
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
