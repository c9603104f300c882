/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25+):
 * a `client_id` that is an HTTPS URL, whose JSON document the authorization server fetches.
 *
 * Fetching a URL chosen by an anonymous caller is an SSRF primitive, so `resolve()` is a pipeline of
 * refusals, each commented with the rule it enforces:
 *
 * 1. the URL shape (`https:`, a path, no fragment, no credentials, no dot segments);
 * 2. the host: every address it resolves to must be public unicast (see `ip.ts`), checked before any
 *    request is sent;
 * 3. the response: no redirects, status 200, a JSON content type, at most `maxBytes` counted while
 *    streaming, all within `timeoutMs` (DNS included);
 * 4. the document: `client_id` equal to the URL, no shared secret, no private keys, public-client auth,
 *    then the same metadata rules as registration (`metadata.ts`).
 *
 * Successful results are cached per `Cache-Control` (capped); failures are never cached, so a fixed
 * document works on the next try and a flapping one cannot pin a bad answer.
 *
 * Outages: when the document's host cannot be reached (DNS, connect, timeout, a 5xx or 429), a copy
 * whose freshness ran out at most `maxStaleSec` ago (default 24 h) is used instead, and the fallback is
 * logged (RFC 5861's stale-if-error). A host that answers, but with a 404, another document or a bad
 * one, gets no fallback: its owner changed it on purpose. The cache is per instance and in memory, so an
 * instance that never fetched the document has no copy to fall back to.
 *
 * DNS rebinding: step 2 resolves the name, then `fetch` resolves it again to connect. A hostile DNS
 * server can answer "public" to the first lookup and "169.254.169.254" to the second. The injected
 * `fetch` must close that gap by checking the address it actually connects to: on Node use
 * `createSafeFetch()` from `hosts/node-deps.ts`, which validates inside the socket's `lookup`. Step 2
 * stays as the portable first line (and the only one for a host that cannot pin).
 *
 * @module
 */

import { DEADLINES } from "../../core/deadlines.ts";
import type { Logger } from "../../core/log.ts";
import { isLoopbackHost } from "../../core/loopback.ts";
import { AsError, OAuthErrorCode, ok, type Rejection, type Result, reject } from "../errors.ts";
import { ipLiteral, nonPublicReason } from "./ip.ts";
import { type ClientRecord, parseClientMetadata } from "./metadata.ts";
import { clip, type RedirectUriPolicy } from "./redirect-uri.ts";

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;
/** All addresses (IPv4 and IPv6 text) a host name resolves to. Node: `dns.promises.lookup(h, { all: true })`. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

export interface CimdResolverOptions {
  fetch: FetchLike;
  resolveHost: ResolveHost;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * LOCAL TESTING ONLY. Accept `http://127.0.0.1`, `http://[::1]` and `http://localhost` client ids
   * and skip the address check for those hosts. Never enable in a deployment.
   */
  allowLoopbackHttp?: boolean;
  /** Largest document accepted, in bytes. Default 5 KiB. */
  maxBytes?: number;
  /** Deadline for DNS, connect, headers and body together. Default 5 s. */
  timeoutMs?: number;
  /** Longest a document is cached, whatever its `max-age`. Default 24 h. */
  maxCacheSec?: number;
  /** Lifetime when the response has no `Cache-Control: max-age`. Default 5 min. */
  defaultCacheSec?: number;
  /** How long after its freshness ends a cached copy may stand in while the host is unreachable. Default 24 h. */
  maxStaleSec?: number;
  /** Where a stale fallback is reported. */
  logger?: Logger;
  /** Most documents kept in memory; the oldest is evicted first. Default 1000. */
  maxCacheEntries?: number;
  /** Passed to the redirect URI validator (extra private-use schemes). */
  redirectUriPolicy?: RedirectUriPolicy;
  /**
   * Asked before each fetch (a cache miss) with the document's host: `false` refuses it (reason
   * `throttled`), so one host's documents cannot be made to cost an outbound request each.
   */
  throttle?: (host: string) => Promise<boolean>;
}

export interface CimdResolver {
  /** True when `clientId` has the shape of a metadata document URL this resolver would fetch. */
  accepts(clientId: string): boolean;
  /** The validated client, or throws an {@link AsError} (`invalid_client`) carrying the log-only reason. */
  resolve(clientId: string): Promise<ClientRecord>;
  /** The same, as a `Result`. */
  resolveResult(clientId: string): Promise<Result<ClientRecord>>;
}

/**
 * The `code` a pinning `fetch` puts on the error (or its `cause`) when it refused to connect because
 * the address it resolved is not public. `createSafeFetch()` in `hosts/node-deps.ts` uses it.
 */
export const FORBIDDEN_ADDRESS_ERROR_CODE = "ERR_FORBIDDEN_ADDRESS";

const MAX_CLIENT_ID_LENGTH = 2000;

function invalidClient(reason: string, description: string, detail?: string) {
  return reject(OAuthErrorCode.InvalidClient, reason, description, detail);
}

/**
 * Checks the shape of a metadata document URL. With `allowLoopbackHttp`, `http:` is accepted for the
 * loopback hosts only.
 */
export function checkCimdClientId(clientId: string, allowLoopbackHttp = false): Result<URL> {
  const bad = (reason: string, why: string) =>
    invalidClient(
      reason,
      `client_id "${clip(clientId)}" is not a valid client metadata document URL: ${why}`,
    );
  if (typeof clientId !== "string" || clientId.length > MAX_CLIENT_ID_LENGTH)
    return bad("too_long", "too long");
  for (let i = 0; i < clientId.length; i++) {
    const c = clientId.charCodeAt(i);
    // The URL parser strips tabs/newlines and turns `\` into `/`: refuse rather than compare a rewritten URL.
    if (c <= 0x20 || c === 0x7f || c === 0x5c)
      return bad("bad_characters", "it contains spaces, controls or `\\`");
  }
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return bad("unparseable", "it is not a URL");
  }
  const loopbackHttp = allowLoopbackHttp && clientId.startsWith("http://") && isLoopbackHost(url.hostname);
  // CIMD §3: the client identifier URL MUST use the "https" scheme.
  if (!clientId.startsWith("https://") && !loopbackHttp) return bad("not_https", "it must use https");
  // CIMD §3: MUST NOT contain a fragment; MUST NOT contain a username or password.
  if (clientId.includes("#")) return bad("fragment", "it must not contain a fragment");
  if (url.username || url.password) return bad("credentials", "it must not contain credentials");
  // CIMD §3: MUST contain a path component (and a root path names no document).
  if (url.pathname === "/" || url.pathname === "") return bad("no_path", "it must have a path");
  // CIMD §3: MUST NOT contain single-dot or double-dot path segments. Checked on the raw text, because
  // the URL parser has already removed them (and `%2e` is a dot too, RFC 3986 §6.2.2.2).
  const rawPath = clientId.slice(clientId.indexOf("//") + 2).split(/[?]/)[0];
  const segments = rawPath.split("/").slice(1);
  if (segments.some((s) => /^(\.|%2e){1,2}$/i.test(s)))
    return bad("dot_segment", "it must not contain . or .. segments");
  return ok(url);
}

/** Does `clientId` look like a Client ID Metadata Document URL (https, path, no fragment…)? */
export function isCimdClientId(clientId: string): boolean {
  return checkCimdClientId(clientId).ok;
}

/** Seconds a successful response may be cached: 0 for `no-store`/`no-cache`, else `max-age`, capped. */
export function cacheLifetimeSec(cacheControl: string | null, defaultSec: number, maxSec: number): number {
  if (!cacheControl) return Math.min(defaultSec, maxSec);
  let maxAge: number | undefined;
  for (const part of cacheControl.toLowerCase().split(",")) {
    const [name, raw] = part.trim().split("=", 2);
    // RFC 9111 §5.2.2.5 no-store / §5.2.2.4 no-cache: we never revalidate, so both mean "do not keep".
    if (name === "no-store" || name === "no-cache") return 0;
    if (name === "max-age" && raw !== undefined) {
      const n = Number(raw.replace(/^"|"$/g, ""));
      if (Number.isInteger(n) && n >= 0) maxAge = n;
    }
  }
  return Math.min(maxAge ?? defaultSec, maxSec);
}

function isJsonContentType(value: string | null): boolean {
  if (!value) return false;
  const type = value.split(";")[0].trim().toLowerCase();
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

// Members of a private or symmetric JWK (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

function containsPrivateKey(jwks: unknown): boolean {
  if (typeof jwks !== "object" || jwks === null) return false;
  const keys = Array.isArray((jwks as { keys?: unknown }).keys) ? (jwks as { keys: unknown[] }).keys : [jwks];
  return keys.some(
    (k) => typeof k === "object" && k !== null && PRIVATE_JWK_MEMBERS.some((m) => Object.hasOwn(k, m)),
  );
}

class Refused extends Error {
  readonly rejection: Rejection;
  constructor(rejection: Rejection) {
    super(rejection.description);
    this.rejection = rejection;
  }
}

function refuse(reason: string, description: string, detail?: string): never {
  throw new Refused(invalidClient(reason, description, detail).error);
}

/** Reads at most `maxBytes` of `body`, cancelling the stream the moment it goes past (no trust in Content-Length). */
async function readCapped(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const onAbort = () => {
    reader.cancel().catch(() => {});
  };
  signal.addEventListener("abort", onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (signal.aborted) refuse("timeout", "fetching the client metadata document timed out");
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        refuse(
          "too_large",
          `the client metadata document is larger than ${maxBytes} bytes`,
          `read ${total} bytes`,
        );
      }
      chunks.push(value);
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, rejectPromise) => {
    if (signal.aborted) rejectPromise(signal.reason);
    const onAbort = () => rejectPromise(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, rejectPromise).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function errorCode(err: unknown): string | undefined {
  for (let e = err, i = 0; e && typeof e === "object" && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/**
 * CIMD security considerations (SSRF): the document's host must resolve to public addresses only, every
 * one of them; the host's fetch checks again at connect time (`hosts/node-deps.ts`).
 */
async function checkHost(
  url: URL,
  signal: AbortSignal,
  opts: Pick<CimdResolverOptions, "resolveHost" | "allowLoopbackHttp">,
): Promise<void> {
  // Local testing switch: loopback URLs are the point, so the address rule does not apply to them.
  if (opts.allowLoopbackHttp && isLoopbackHost(url.hostname)) return;
  const literal = ipLiteral(url.hostname);
  let addresses: string[];
  if (literal !== undefined) addresses = [literal];
  else {
    try {
      addresses = await untilAborted(opts.resolveHost(url.hostname), signal);
    } catch (err) {
      if (signal.aborted) refuse("timeout", "resolving the client metadata document host timed out");
      refuse("dns_failure", "the client metadata document host could not be resolved", String(err));
    }
  }
  if (addresses.length === 0)
    refuse("dns_failure", "the client metadata document host could not be resolved");
  for (const address of addresses) {
    // SSRF: refuse if ANY address is not public; an attacker controls which one the connect would pick.
    const why = nonPublicReason(address);
    if (why) {
      refuse(
        "forbidden_address",
        "the client metadata document host is not a public Internet address",
        `${url.hostname} -> ${address}: ${why}`,
      );
    }
  }
}

/** The limits a document fetch runs under (see `CimdResolverOptions`). */
type FetchLimits = Required<
  Pick<
    CimdResolverOptions,
    | "fetch"
    | "resolveHost"
    | "allowLoopbackHttp"
    | "maxBytes"
    | "timeoutMs"
    | "defaultCacheSec"
    | "maxCacheSec"
  >
>;

/** Fetches a client metadata document: the host checked, one GET, then the answer read (CIMD §4). */
async function fetchDocument(
  clientId: string,
  url: URL,
  limits: FetchLimits,
): Promise<{ doc: Record<string, unknown>; ttlSec: number }> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  await checkHost(url, signal, limits);
  const res = await requestDocument(clientId, signal, limits.fetch);
  return readDocument(res, signal, limits);
}

/** One GET, redirects never followed (CIMD security considerations: a 3xx is an error, not a hop). */
async function requestDocument(clientId: string, signal: AbortSignal, fetch: FetchLike): Promise<Response> {
  try {
    return await fetch(clientId, {
      method: "GET",
      // CIMD security considerations / SSRF: never follow redirects; a 3xx is an error, not a hop.
      redirect: "manual",
      signal,
      headers: { accept: "application/json" },
      credentials: "omit",
    });
  } catch (err) {
    if (signal.aborted) refuse("timeout", "fetching the client metadata document timed out");
    if (errorCode(err) === FORBIDDEN_ADDRESS_ERROR_CODE) {
      refuse(
        "forbidden_address",
        "the client metadata document host is not a public Internet address",
        String(err),
      );
    }
    refuse(
      "fetch_failed",
      "the client metadata document could not be fetched",
      String((err as Error)?.cause ?? err),
    );
  }
}

/**
 * Reads the answer: 200, `application/json`, at most `maxBytes`, one JSON object; its lifetime from
 * `Cache-Control` (CIMD §4: clients' documents are cached per HTTP caching rules, within our bounds).
 */
async function readDocument(
  res: Response,
  signal: AbortSignal,
  limits: Pick<FetchLimits, "maxBytes" | "defaultCacheSec" | "maxCacheSec">,
): Promise<{ doc: Record<string, unknown>; ttlSec: number }> {
  const { maxBytes, defaultCacheSec, maxCacheSec } = limits;
  try {
    if (res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400)) {
      refuse(
        "redirect",
        "the client metadata document URL redirects; redirects are not followed",
        `status ${res.status}`,
      );
    }
    if (res.status !== 200) {
      refuse("http_status", `fetching the client metadata document returned HTTP ${res.status}`);
    }
    if (!isJsonContentType(res.headers.get("content-type"))) {
      refuse(
        "content_type",
        "the client metadata document must be served as application/json",
        `content-type: ${res.headers.get("content-type")}`,
      );
    }
    const declared = Number(res.headers.get("content-length") ?? Number.NaN);
    if (declared > maxBytes)
      refuse("too_large", `the client metadata document is larger than ${maxBytes} bytes`);
    if (!res.body) refuse("invalid_json", "the client metadata document is empty");
    let bytes: Uint8Array;
    try {
      bytes = await readCapped(res.body, maxBytes, signal);
    } catch (err) {
      if (err instanceof Refused) throw err;
      if (signal.aborted) refuse("timeout", "fetching the client metadata document timed out");
      refuse("fetch_failed", "the client metadata document could not be read", String(err));
    }
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch {
      refuse("invalid_json", "the client metadata document is not valid JSON");
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
      refuse("invalid_json", "the client metadata document must be a JSON object");
    }
    return {
      doc: doc as Record<string, unknown>,
      ttlSec: cacheLifetimeSec(res.headers.get("cache-control"), defaultCacheSec, maxCacheSec),
    };
  } finally {
    // Release the connection if we stopped before reading the body.
    if (res.body && !res.bodyUsed) res.body.cancel().catch(() => {});
  }
}

/** The document's own rules (CIMD §4.1), then the same metadata rules as registration (`metadata.ts`). */
function validateDocument(
  clientId: string,
  doc: Record<string, unknown>,
  redirectUriPolicy: RedirectUriPolicy | undefined,
): ClientRecord {
  // CIMD §4.1: the document's client_id MUST match the URL it was fetched from (simple string comparison).
  if (doc.client_id !== clientId) {
    refuse(
      "client_id_mismatch",
      "the client_id in the client metadata document does not match its URL",
      `document client_id: ${clip(doc.client_id)}`,
    );
  }
  // CIMD §4.1: no shared secret can exist for a metadata document; a document carrying one is broken or hostile.
  if ("client_secret" in doc || "client_secret_expires_at" in doc) {
    refuse("client_secret_present", "the client metadata document must not contain a client_secret");
  }
  // CIMD security considerations: a published document must never carry private key material.
  if (containsPrivateKey(doc.jwks)) {
    refuse(
      "private_jwk_present",
      "the client metadata document contains private or symmetric key material in jwks",
    );
  }
  const method = doc.token_endpoint_auth_method;
  if (method === "private_key_jwt") {
    refuse(
      "unsupported_auth_method",
      'token_endpoint_auth_method "private_key_jwt" is not supported by this server; use "none" (public client with PKCE)',
    );
  }
  // CIMD §4.1: MUST NOT use an authentication method based on a shared secret.
  if (typeof method === "string" && method.startsWith("client_secret_")) {
    refuse(
      "unsupported_auth_method",
      `token_endpoint_auth_method "${clip(method, 50)}" needs a shared secret, which a client metadata document cannot have; use "none"`,
    );
  }
  const parsed = parseClientMetadata(doc, redirectUriPolicy);
  if (!parsed.ok) {
    refuse(
      parsed.error.reason,
      `the client metadata document is invalid: ${parsed.error.description}`,
      parsed.error.detail,
    );
  }
  return { ...parsed.value, client_id: clientId, source: "cimd" };
}

/** Refusals that say the host could not be reached, as opposed to answering with something wrong. */
function hostUnreachable(rejection: Rejection): boolean {
  if (["fetch_failed", "timeout", "dns_failure"].includes(rejection.reason)) return true;
  const status = /HTTP (\d{3})/.exec(rejection.description)?.[1];
  return rejection.reason === "http_status" && (status === "429" || status?.startsWith("5") === true);
}

export function createCimdResolver(options: CimdResolverOptions): CimdResolver {
  const {
    fetch,
    resolveHost,
    now = Date.now,
    allowLoopbackHttp = false,
    maxBytes = 5 * 1024,
    timeoutMs = DEADLINES.cimdMs,
    maxCacheSec = 24 * 3600,
    defaultCacheSec = 300,
    maxCacheEntries = 1000,
    maxStaleSec = 24 * 3600,
    logger,
    redirectUriPolicy,
  } = options;
  if (typeof fetch !== "function") throw new TypeError("createCimdResolver: fetch must be a function");
  if (typeof resolveHost !== "function")
    throw new TypeError("createCimdResolver: resolveHost must be a function");
  for (const [name, v] of Object.entries({
    maxBytes,
    timeoutMs,
    maxCacheSec,
    defaultCacheSec,
    maxCacheEntries,
    maxStaleSec,
  })) {
    if (!Number.isFinite(v) || v < 0)
      throw new TypeError(`createCimdResolver: ${name} must be a non-negative number`);
  }

  const limits: FetchLimits = {
    fetch,
    resolveHost,
    allowLoopbackHttp,
    maxBytes,
    timeoutMs,
    defaultCacheSec,
    maxCacheSec,
  };
  const cache = new Map<string, { record: ClientRecord; expiresAt: number }>();
  const inFlight = new Map<string, Promise<Result<ClientRecord>>>();

  function remember(clientId: string, record: ClientRecord, ttlSec: number) {
    cache.delete(clientId);
    if (ttlSec <= 0 || maxCacheEntries === 0) return;
    while (cache.size >= maxCacheEntries) cache.delete(cache.keys().next().value as string);
    cache.set(clientId, { record, expiresAt: now() + ttlSec * 1000 });
  }

  async function load(clientId: string, url: URL): Promise<Result<ClientRecord>> {
    if (options.throttle && !(await options.throttle(url.host)))
      return invalidClient("throttled", "too many client metadata documents from this host; try again later");
    try {
      const { doc, ttlSec } = await fetchDocument(clientId, url, limits);
      const record = validateDocument(clientId, doc, redirectUriPolicy);
      remember(clientId, record, ttlSec);
      return ok(record);
    } catch (err) {
      if (!(err instanceof Refused))
        return invalidClient("internal", "the client metadata document could not be processed", String(err));
      const stale = cache.get(clientId);
      if (stale && hostUnreachable(err.rejection) && now() - stale.expiresAt <= maxStaleSec * 1000) {
        logger?.warn("client metadata document host unreachable: using the cached copy", {
          client: clientId,
          reason: err.rejection.reason,
          detail: err.rejection.detail ?? err.rejection.description,
          staleSec: Math.round((now() - stale.expiresAt) / 1000),
        });
        return ok(stale.record);
      }
      return { ok: false, error: err.rejection };
    }
  }

  async function resolveResult(clientId: string): Promise<Result<ClientRecord>> {
    const checked = checkCimdClientId(clientId, allowLoopbackHttp);
    if (!checked.ok) return checked;
    const hit = cache.get(clientId);
    if (hit && hit.expiresAt > now()) return ok(hit.record);
    // Past its freshness, but kept for a while in case the host is down when it is fetched again.
    if (hit && now() - hit.expiresAt > maxStaleSec * 1000) cache.delete(clientId);
    // Concurrent requests for the same document share one fetch.
    let pending = inFlight.get(clientId);
    if (!pending) {
      pending = load(clientId, checked.value).finally(() => inFlight.delete(clientId));
      inFlight.set(clientId, pending);
    }
    return pending;
  }

  return {
    accepts: (clientId) => checkCimdClientId(clientId, allowLoopbackHttp).ok,
    resolveResult,
    async resolve(clientId) {
      const result = await resolveResult(clientId);
      if (!result.ok) throw new AsError(result.error);
      return result.value;
    },
  };
}
