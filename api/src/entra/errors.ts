/**
 * Errors from Microsoft Entra ID (token requests, the managed identity) as the server's failure
 * reasons (`core/failure.ts`), each with a message a person can act on. One classification serves
 * every Entra call: the On-Behalf-Of exchange, the proxy's renewal of a user's Entra token, and its
 * redemption of the authorization code at the callback.
 *
 * Raw upstream bodies stay in the logs (never tokens); the user sees the AADSTS code and the remedy.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import {
  describeGraphPermissions,
  GRAPH_PERMISSIONS,
  GRAPH_RESOURCE,
  type GraphPermission,
} from "../config/graph-permissions.ts";
import { Failure, type FailureReason } from "../core/failure.ts";
import { consentUrl } from "./consent.ts";

/** An error answer from Entra's token endpoint. */
export class UpstreamError extends Error {
  readonly status: number;
  readonly error: string;
  readonly aadsts?: number;
  /** The answer's `Retry-After`, in seconds. */
  readonly retryAfterSec?: number;
  constructor(status: number, error: string, description: string, opts: { retryAfterSec?: number } = {}) {
    super(`Entra ID answered ${status} ${error}: ${description}`);
    this.name = "UpstreamError";
    this.status = status;
    this.error = error;
    this.aadsts = aadstsCode({ message: description });
    this.retryAfterSec = opts.retryAfterSec;
  }
}

/** The first `AADSTSnnnn` code in an error's message or response, if any. */
export function aadstsCode(err: unknown): number | undefined {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const text = `${(e as { message?: string }).message ?? ""} ${JSON.stringify((e as { errorResponse?: unknown }).errorResponse ?? "")}`;
    const m = /AADSTS(\d{4,7})/.exec(text);
    if (m) return Number(m[1]);
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Conditional Access or MFA asks for an extra sign-in step. */
const INTERACTION = new Set([50076, 50079, 50158, 53003]);
/** The user's sign-in (refresh token, session) expired or was revoked. */
const EXPIRED = new Set([500133, 700082, 50173, 70008, 70043, 700084]);
/** The server's own identity: the federated credential, the client assertion, the app registration. */
const MISCONFIGURED = new Set([700016, 700024, 700211, 700212, 700213, 70021, 7000215, 7000222, 50027]);

/**
 * The claims challenge in an Entra error, if any: the `claims` of the token endpoint's answer (MSAL's
 * `InteractionRequiredAuthError.claims`, @azure/identity's `errorResponse`, or our own `UpstreamError`).
 */
export function claimsOf(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const o = e as { claims?: unknown; errorResponse?: { claims?: unknown } };
    const claims = o.claims ?? o.errorResponse?.claims;
    if (typeof claims === "string" && claims.trim().startsWith("{")) return claims;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
/** Entra's own "temporarily unavailable" and "throttled" codes, whatever the HTTP status says. */
const TRANSIENT = new Set([90033, 90055, 90006, 50196]);

/** Which reason an Entra error is: the user must act, try again, or the operator must act. */
export function entraReason(err: unknown): FailureReason {
  if (err instanceof Failure) return err.reason;
  const code = aadstsCode(err);
  if (code === 65001) return "consent_required";
  if (code !== undefined && INTERACTION.has(code))
    return claimsOf(err) ? "insufficient_claims" : "interaction_required";
  if (code !== undefined && EXPIRED.has(code)) return "reauthenticate";
  if (code !== undefined && MISCONFIGURED.has(code)) return "server_misconfigured";
  const status = httpStatus(err);
  if (status !== undefined && (status >= 500 || status === 429)) return "upstream_unavailable";
  if ((code !== undefined && TRANSIENT.has(code)) || oauthErrorCode(err) === "temporarily_unavailable")
    return "upstream_unavailable";
  // RFC 6749 §5.2: the grant (code or refresh token) is invalid, expired or revoked.
  if (err instanceof UpstreamError && err.error === "invalid_grant") return "reauthenticate";
  if (code === undefined && status === undefined && isNetworkError(err)) return "upstream_unavailable";
  return "upstream_error";
}

/** The known Graph permission names among fully qualified scopes (`.default` and others left out). */
export function graphPermissionsIn(scopes: readonly string[]): GraphPermission[] {
  return scopes
    .map((s) => (s.startsWith(`${GRAPH_RESOURCE}/`) ? s.slice(GRAPH_RESOURCE.length + 1) : s))
    .filter((n): n is GraphPermission => Object.hasOwn(GRAPH_PERMISSIONS, n));
}

/** The consent failure for `permissions`: what they allow, and the link that grants exactly them. */
export function consentFailure(
  config: Pick<Config, "entra" | "publicUrl">,
  permissions: readonly GraphPermission[],
  detail = "",
  cause?: unknown,
): Failure {
  const url = consentUrl(config, permissions);
  const what = permissions.length
    ? `to ${describeGraphPermissions(permissions)} (${permissions.join(", ")})`
    : "to use Microsoft Graph";
  return new Failure(
    "consent_required",
    `This server needs your consent ${what}${detail}. Open ${url} , accept, then call the tool again: ` +
      "your MCP client does not need to reconnect. If your organisation blocks user consent, ask an " +
      "administrator to grant it for the tenant.",
    { url, cause },
  );
}

/**
 * An Entra error as a `Failure` with a message for the user. `action` names what failed, in words
 * ("the token exchange", "renewing your sign-in", "sign-in"); `scopes`, the Graph scopes a token
 * exchange asked for (its consent link asks for exactly those).
 */
export function entraFailure(
  config: Pick<Config, "entra" | "publicUrl">,
  err: unknown,
  action: string,
  opts: { scopes?: readonly string[] } = {},
): Failure {
  if (err instanceof Failure) return err;
  const code = aadstsCode(err);
  const aadsts = code ? ` (AADSTS${code})` : "";
  const reason = entraReason(err);
  switch (reason) {
    case "consent_required":
      return consentFailure(config, graphPermissionsIn(opts.scopes ?? []), aadsts, err);
    case "insufficient_claims":
      return new Failure(
        reason,
        `Your organisation's Conditional Access policy requires an extra sign-in step${aadsts}, e.g. ` +
          "multi-factor authentication, before this server may use Microsoft Graph for you.",
        { claims: claimsOf(err), cause: err },
      );
    case "interaction_required":
      return new Failure(
        reason,
        `Your organisation requires an extra sign-in step${aadsts}, e.g. multi-factor authentication. ` +
          "Sign out of this server in your MCP client and sign in again.",
        { cause: err },
      );
    case "reauthenticate":
      return new Failure(
        reason,
        `Your Microsoft Entra sign-in has expired${aadsts}. Reconnect to this server to sign in again.`,
        { cause: err },
      );
    case "upstream_unavailable": {
      const retryAfterSec = err instanceof UpstreamError ? err.retryAfterSec : undefined;
      return new Failure(
        reason,
        `Microsoft Entra ID could not be reached, is busy or is unavailable${aadsts}; try again ${
          retryAfterSec ? `in ${retryAfterSec} seconds` : "shortly"
        }. Your sign-in is intact.`,
        { cause: err, retryAfterSec },
      );
    }
    case "server_misconfigured":
      return new Failure(
        reason,
        `Microsoft Entra ID refused the server's own credentials${aadsts}: its app registration, federated ` +
          "credential or managed identity needs attention.",
        { cause: err },
      );
    default:
      return new Failure(
        "upstream_error",
        `Microsoft Entra ID refused ${action}${aadsts}. ` +
          "Try again; if it persists, the server's app registration or federated credential needs attention.",
        { cause: err },
      );
  }
}

function httpStatus(err: unknown): number | undefined {
  if (err instanceof UpstreamError) return err.status;
  // @azure/identity's AuthenticationError (`statusCode`), or MSAL's ServerError inside a credential's error
  // (`status`, e.g. the managed-identity endpoint's answer).
  const seen = new Set<unknown>();
  for (
    let e: unknown = err;
    e && typeof e === "object" && !seen.has(e);
    e = (e as { cause?: unknown }).cause
  ) {
    seen.add(e);
    const { statusCode, status } = e as { statusCode?: unknown; status?: unknown };
    if (typeof statusCode === "number") return statusCode;
    if (typeof status === "number") return status;
  }
  return undefined;
}

/** The OAuth `error` of an Entra answer: ours, or @azure/identity's `errorResponse`, or MSAL's `errorCode`. */
function oauthErrorCode(err: unknown): string | undefined {
  if (err instanceof UpstreamError) return err.error;
  const e = err as { errorResponse?: { error?: unknown }; errorCode?: unknown } | undefined;
  const code = e?.errorResponse?.error ?? e?.errorCode;
  return typeof code === "string" ? code : undefined;
}

/** A failure to reach a service at all (refused, reset, timed out), as opposed to an answer. */
export function isNetworkError(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  // `AbortSignal.timeout()` rejects with a TimeoutError; a dropped connection is a TypeError from fetch.
  if (name === "TimeoutError" || name === "AbortError") return true;
  let text = "";
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    text += ` ${String((e as { message?: string })?.message ?? e)} ${(e as { code?: string }).code ?? ""}`;
    if (typeof e !== "object") break;
  }
  return /ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|socket hang up|fetch failed|network|timed? ?out/i.test(
    text,
  );
}
