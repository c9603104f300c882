/**
 * The proxy's own leg to Entra ID: the authorize URL it redirects browsers to, and the token requests
 * it makes as the server's app registration, authenticated with the managed identity's client
 * assertion (never a secret). Plain OAuth over `fetch`: MSAL would hide the refresh token the proxy
 * must keep per grant.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { type GraphPermission, graphScope } from "../config/graph-permissions.ts";
import { callbackUrl, entraUrl } from "../config/paths.ts";
import { DEADLINES, parseRetryAfter, quickRetryDelay, sleep } from "../core/deadlines.ts";
import { Failure } from "../core/failure.ts";
import { UpstreamError } from "./errors.ts";

export interface UpstreamTokens {
  accessToken: string;
  refreshToken?: string;
  /** When Entra says the refresh token ends (`refresh_token_expires_in`), ms since the epoch. */
  refreshExpiresAt?: number;
  idToken?: string;
  /** ms since the epoch */
  expiresAt: number;
}

/** Scopes the proxy asks Entra for: our API (for OBO), the user's identity, and a refresh token. */
export function upstreamScope(config: Pick<Config, "entra">): string {
  return `${config.entra.appIdUri}/${config.entra.scope} openid profile offline_access`;
}

/**
 * Graph permissions the tools declare (`graphPermissions`), asked for at sign-in besides `upstreamScope`
 * so that Entra collects the user's consent to them up front (as MSAL's `extraScopesToConsent` does) and
 * the first tool call needs no `consent_required` round trip. Entra issues the code's token for one
 * resource only, so these are asked at /authorize and never at /token. Not asked when an administrator
 * granted them for the tenant.
 */
export function graphConsentScopes(graphPermissions: readonly GraphPermission[]): string[] {
  return graphPermissions.map(graphScope);
}

/** The scope of the authorize request: `upstreamScope`, plus the Graph permissions to consent to. */
export function upstreamAuthorizeScope(
  config: Pick<Config, "entra" | "graph">,
  graphPermissions: readonly GraphPermission[],
): string {
  const own = upstreamScope(config);
  return config.graph.adminConsent ? own : [own, ...graphConsentScopes(graphPermissions)].join(" ");
}

/**
 * The scope of the Connected apps page's own sign-in: a token for this server's API (whose `roles` say
 * whether the person is an administrator) and who they are. No refresh token, no Graph permission.
 */
export function pageSignInScope(config: Pick<Config, "entra">): string {
  return `${config.entra.appIdUri}/${config.entra.scope} openid profile`;
}

export function upstreamAuthorizeUrl(
  config: Pick<Config, "entra" | "graph" | "publicUrl">,
  p: {
    state: string;
    nonce: string;
    codeChallenge: string;
    /** The Graph permissions the tools declare, for consent at sign-in (not with `scope`). */
    graphPermissions?: readonly GraphPermission[];
    loginHint?: string;
    /** A claims challenge (Conditional Access, CAE) the sign-in must satisfy. */
    claims?: string;
    /** Another return path and scope than the proxy's (the Connected apps page's sign-in). */
    redirectUri?: string;
    scope?: string;
  },
): string {
  const u = entraUrl(config, "authorize", config.entra.signInTenant);
  u.search = new URLSearchParams({
    client_id: config.entra.clientId,
    response_type: "code",
    redirect_uri: p.redirectUri ?? callbackUrl(config),
    response_mode: "query",
    scope: p.scope ?? upstreamAuthorizeScope(config, p.graphPermissions ?? []),
    state: p.state,
    nonce: p.nonce,
    code_challenge: p.codeChallenge,
    code_challenge_method: "S256",
    // Never reuse a cached Entra account silently: the user picks who signs in (FastMCP's AzureProvider).
    prompt: "select_account",
    ...(p.loginHint ? { login_hint: p.loginHint } : {}),
    ...(p.claims ? { claims: p.claims } : {}),
    // No `resource`: Entra rejects RFC 8707 indicators that don't match the scopes (AADSTS9010010).
  }).toString();
  return u.toString();
}

export interface UpstreamClient {
  /** Redeems a code the proxy's callback (or, with `opts`, another return path) received. */
  redeemCode(
    code: string,
    codeVerifier: string,
    opts?: { redirectUri: string; scope: string },
  ): Promise<UpstreamTokens>;
  /** Renews a user's Entra tokens at their own tenant (`tid`), where the refresh token was issued. */
  refresh(refreshToken: string, tenantId: string): Promise<UpstreamTokens>;
}

export function createUpstreamClient(
  config: Pick<Config, "entra" | "publicUrl">,
  deps: { getAssertion: () => Promise<string>; fetch?: typeof fetch; now?: () => number },
): UpstreamClient {
  const doFetch = deps.fetch ?? fetch;
  const now = deps.now ?? Date.now;
  /** One token request at `tokenUrl` within the caller's deadline; see `post` for the retry. */
  async function attempt(
    tokenUrl: URL,
    params: Record<string, string>,
    signal: AbortSignal,
  ): Promise<UpstreamTokens> {
    const body = new URLSearchParams({
      client_id: config.entra.clientId,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: await untilAborted(deps.getAssertion(), signal),
      ...params,
    });
    const started = now();
    const res = await doFetch(tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body,
      signal,
    });
    const retryAfterSec = parseRetryAfter(res.headers.get("retry-after"), now());
    let json: Record<string, unknown>;
    try {
      json = (await res.json()) as Record<string, unknown>;
    } catch {
      throw new UpstreamError(res.status, "invalid_response", "the token endpoint did not answer JSON", {
        retryAfterSec,
      });
    }
    if (!res.ok || typeof json.access_token !== "string") {
      throw new UpstreamError(
        res.status,
        String(json.error ?? "invalid_response"),
        String(json.error_description ?? ""),
        { retryAfterSec },
      );
    }
    return {
      accessToken: json.access_token,
      refreshToken: typeof json.refresh_token === "string" ? json.refresh_token : undefined,
      idToken: typeof json.id_token === "string" ? json.id_token : undefined,
      ...(typeof json.refresh_token_expires_in === "number"
        ? { refreshExpiresAt: started + json.refresh_token_expires_in * 1000 }
        : {}),
      expiresAt: started + Number(json.expires_in ?? 0) * 1000,
    };
  }

  /**
   * A token request with a deadline and at most one quick retry: after a 5xx or 429 answer (Entra did not
   * act on it), or, where repeating is harmless (`retryUnanswered`), after a connection that failed without
   * an answer. A `Retry-After` longer than what fits is not waited out: the failure carries it instead.
   */
  async function post(
    tokenUrl: URL,
    params: Record<string, string>,
    opts: { deadlineMs: number; retryUnanswered: boolean },
  ): Promise<UpstreamTokens> {
    const signal = AbortSignal.timeout(opts.deadlineMs);
    const endAt = now() + opts.deadlineMs;
    try {
      return await attempt(tokenUrl, params, signal);
    } catch (err) {
      if (signal.aborted) throw timedOut(opts.deadlineMs, err);
      const answered = err instanceof UpstreamError;
      const retryable = answered
        ? err.status >= 500 || err.status === 429
        : opts.retryUnanswered && !(err instanceof Failure);
      const wait = retryable
        ? quickRetryDelay(answered ? err.retryAfterSec : undefined, endAt - now())
        : undefined;
      if (wait === undefined) throw err;
      try {
        await sleep(wait, signal);
        return await attempt(tokenUrl, params, signal);
      } catch (again) {
        if (signal.aborted) throw timedOut(opts.deadlineMs, again);
        throw again;
      }
    }
  }

  return {
    // The code comes back from the authority the browser signed in at. A code is single use: when a
    // request went out unanswered, Entra may have spent it, so no retry then.
    redeemCode: (code, codeVerifier, opts) =>
      post(
        entraUrl(config, "token", config.entra.signInTenant),
        {
          grant_type: "authorization_code",
          code,
          code_verifier: codeVerifier,
          redirect_uri: opts?.redirectUri ?? callbackUrl(config),
          scope: opts?.scope ?? upstreamScope(config),
        },
        { deadlineMs: DEADLINES.codeRedemptionMs, retryUnanswered: false },
      ),
    // Entra keeps a refresh token valid after it issues the next one, so repeating the request is harmless.
    refresh: (refreshToken, tenantId) =>
      post(
        entraUrl(config, "token", tenantId),
        { grant_type: "refresh_token", refresh_token: refreshToken, scope: upstreamScope(config) },
        { deadlineMs: DEADLINES.upstreamRefreshMs, retryUnanswered: true },
      ),
  };
}

/** The deadline passed: Entra is too slow right now, which is worth trying again. */
function timedOut(deadlineMs: number, cause: unknown): Failure {
  if (cause instanceof Failure) return cause;
  return new Failure(
    "upstream_unavailable",
    `Microsoft Entra ID did not answer within ${deadlineMs / 1000} seconds; try again shortly.`,
    { cause },
  );
}

/** `promise`, or the signal's reason once it aborts (the promise itself is left to settle). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
