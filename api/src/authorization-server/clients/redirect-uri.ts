/**
 * Redirect URIs: which ones a client may register, and whether a requested one matches.
 *
 * Matching is exact string comparison (OAuth 2.1 §2.3.1, RFC 9700 §4.1.3; MCP: "MUST exact-match"),
 * with one exception: RFC 8252 §7.3 loopback redirects, where the port is chosen by the native app at
 * request time. Nothing else is fuzzy: no trailing-slash tolerance, no case folding, no normalisation
 * of percent-encoding or dot segments, no default-port equivalence (`https://a.example:443/cb` does not
 * match `https://a.example/cb`).
 *
 * Loopback hosts accepted, in the exact spelling shown (another spelling of the same address, such as
 * `127.1` or `[0:0::1]`, gets no port flexibility and is refused at registration):
 *
 * - `127.0.0.1` and `[::1]`: the loopback IP literals of RFC 8252 §7.3;
 * - `localhost`: RFC 8252 §8.3 calls it NOT RECOMMENDED (it can resolve elsewhere), but real clients
 *   register it (Claude Code uses `http://localhost:<random>/callback`), and refusing it would lock them
 *   out. The browser resolves it on the user's own machine, so the risk stays with that machine.
 *   `localhost` never matches `127.0.0.1` or the other way round: only the port may differ.
 *
 * @module
 */
import { OAuthErrorCode, ok, type Result, reject } from "../errors.ts";

/**
 * `http://<loopback host>[:port]<rest>`, on the raw string so nothing is normalised before comparing: the
 * hosts of `core/loopback.ts`, spelled out because the match must happen before any URL parsing.
 */
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(?::([0-9]{1,5}))?([/?][^#]*)?$/;

interface LoopbackParts {
  host: string;
  port: number | undefined;
  rest: string;
}

function loopbackParts(uri: string): LoopbackParts | undefined {
  const m = LOOPBACK.exec(uri);
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  // Belt and braces: the WHATWG parser must agree on the host, so no parser differential (`\`, `@`,
  // control characters) can make the browser go somewhere else than the regex saw.
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.hostname !== m[1] || url.username || url.password) return undefined;
  return { host: m[1], port, rest: m[3] ?? "" };
}

/** True for an `http://127.0.0.1`, `http://[::1]` or `http://localhost` redirect URI (any port). */
export function isLoopbackRedirectUri(uri: string): boolean {
  return loopbackParts(uri) !== undefined;
}

/**
 * Does `requested` match one of the `registered` redirect URIs?
 *
 * - exact string equality, or
 * - both are loopback URIs with the same host spelling and the same path and query, differing only in
 *   the port (RFC 8252 §7.3: "MUST allow any port to be specified at the time of the request for
 *   loopback IP redirect URIs"). A registered loopback URI without a port matches any port too.
 */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true; // OAuth 2.1 §4.1.1: exact string comparison
  const req = loopbackParts(requested);
  if (!req) return false;
  return registered.some((r) => {
    const reg = loopbackParts(r);
    // RFC 8252 §7.3: for loopback IP redirect URIs only the port may vary; host and path must be identical.
    return reg !== undefined && reg.host === req.host && reg.rest === req.rest;
  });
}

export type RedirectUriKind = "https" | "loopback" | "private-use";

const MAX_REDIRECT_URI_LENGTH = 2000;

/** A DNS name of letters, digits and hyphens (or an IDN's punycode), an IPv4 literal, or a bracketed IPv6 literal. */
const LITERAL_HOST =
  /^(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|\[[0-9a-f:.]+\])$/;

/** Schemes that are never a redirect target, whatever else the URI looks like. */
const FORBIDDEN_SCHEMES = new Set([
  "javascript",
  "data",
  "file",
  "blob",
  "vbscript",
  "about",
  "filesystem",
  "ftp",
  "ws",
  "wss",
]);

/**
 * Dot-less private-use schemes of widely used MCP clients, accepted without configuration: Cursor's
 * desktop app registers `cursor://anysphere.cursor-mcp/oauth/callback` (and refuses to connect when any
 * of its redirect URIs is refused). The code it receives is still bound to its PKCE verifier, and the
 * consent page names where the answer goes.
 */
export const KNOWN_CLIENT_SCHEMES: readonly string[] = ["cursor"];

export interface RedirectUriPolicy {
  /**
   * Private-use schemes to accept although they are not reverse-domain names (no dot), for example
   * `["cursor"]`. Exact, lower-case scheme names; an operator allow-list, empty by default.
   */
  extraPrivateUseSchemes?: readonly string[];
}

/**
 * May a client register `uri` as a redirect URI?
 *
 * Accepted: an `https:` URL; a loopback `http:` URL (see the module comment for hosts); or a private-use
 * scheme in reverse-domain form (RFC 8252 §7.1: `com.example.app:/oauth2redirect`). Always refused:
 * fragments, credentials, relative references, non-loopback `http:`, script/data/file schemes.
 */
export function validateRedirectUriForRegistration(
  uri: string,
  policy: RedirectUriPolicy = {},
): Result<RedirectUriKind> {
  const bad = (reason: string, why: string) =>
    reject(OAuthErrorCode.InvalidRedirectUri, reason, `redirect_uri "${clip(uri)}" ${why}`);

  if (typeof uri !== "string" || uri.length === 0) return bad("empty", "is empty");
  if (uri.length > MAX_REDIRECT_URI_LENGTH)
    return bad("too_long", `is longer than ${MAX_REDIRECT_URI_LENGTH} characters`);
  // Raw-string checks first: the URL parser silently strips tabs/newlines and rewrites `\` to `/`.
  if (hasUnsafeCharacters(uri))
    return bad("bad_characters", "contains whitespace, control characters or a backslash");
  if (uri.includes("#")) return bad("fragment", "must not contain a fragment"); // RFC 6749 §3.1.2

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1];
  if (!scheme) return bad("relative", "must be an absolute URI"); // RFC 6749 §3.1.2
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return bad("unparseable", "is not a valid URI");
  }
  if (url.username || url.password) return bad("credentials", "must not contain user credentials");

  const lower = scheme.toLowerCase();
  if (lower === "https") {
    if (scheme !== "https") return bad("scheme_case", 'must spell the scheme "https" in lower case');
    if (!url.hostname) return bad("no_host", "must have a host");
    // Exact matching means a literal host: no wildcard or pattern syntax (`*.example.com`), which the
    // URL parser keeps as an ordinary label (RFC 9700 §4.1.3; OAuth 2.1 §2.3.1).
    if (!LITERAL_HOST.test(url.hostname))
      return bad("host_not_literal", "must name a literal host (no wildcards or patterns)");
    return ok("https");
  }
  if (lower === "http") {
    // RFC 8252 §8.3 / OAuth 2.1 §2.3.1: plain http only for the loopback interface.
    if (isLoopbackRedirectUri(uri)) return ok("loopback");
    return bad(
      "http_not_loopback",
      "must use https; http is allowed only for http://127.0.0.1, http://[::1] or http://localhost",
    );
  }
  if (FORBIDDEN_SCHEMES.has(lower))
    return bad("forbidden_scheme", `uses the "${lower}:" scheme, which is not allowed`);
  // RFC 8252 §7.1: a private-use scheme is a reverse domain name the app controls, so it contains a dot.
  const allowed =
    KNOWN_CLIENT_SCHEMES.includes(scheme) || (policy.extraPrivateUseSchemes?.includes(scheme) ?? false);
  if (!scheme.includes(".") && !allowed) {
    return bad(
      "private_use_scheme_not_reverse_domain",
      `uses the private-use scheme "${scheme}:", which is not a reverse domain name (RFC 8252 §7.1, e.g. "com.example.app:/callback")`,
    );
  }
  if (url.hostname === "" && url.pathname === "") return bad("no_path", "must have a path after the scheme");
  return ok("private-use");
}

/** Space, C0 controls, DEL or `\\`: characters the URL parser drops or rewrites, so exact matching would lie. */
function hasUnsafeCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}

/** Attacker-supplied text echoed in a description: printable and short. */
export function clip(value: unknown, max = 100): string {
  let s = "";
  for (const ch of String(value)) {
    const c = ch.codePointAt(0)!;
    s += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? "?" : ch;
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
