/**
 * `/authorize` and the consent step, as a pipeline of checks in the order the specs require them:
 *
 * 1. the caller is within its budget of authorization requests (each one writes a row, and a CIMD
 *    client id costs an outbound fetch) — else 429;
 * 2. the client is known (pre-registered, CIMD or DCR) — else an error page;
 * 3. the redirect URI is registered (exact match; loopback port may vary, RFC 8252 §7.3) — else an
 *    error page, never a redirect (RFC 6749 §4.1.2.1);
 * 4. `response_type=code`, PKCE with S256 (OAuth 2.1 §4.1.1), `resource` = this server's MCP URL
 *    (RFC 8707), known scopes. Errors here go back to the client with `error`, `state` and `iss`, but
 *    only a pre-registered client's redirect URI is followed automatically: for a client that
 *    registered itself or named a metadata document, the user has not interacted yet, so the answer is
 *    a page that names the destination host and links to it (RFC 9700 §4.11.2: no open redirector);
 * 5. consent: a page naming the client and where the answer goes, unless this browser already
 *    approved this client for this redirect URI and these scopes (signed cookie);
 * 6. only then the redirect to Entra, with the server's own client id, PKCE pair, `state` and `nonce`.
 *
 * Every sign-in in progress has its own cookies (named after its request and its `state`), so two
 * sign-ins in one browser, or a sign-in an attacker starts in the victim's browser, never overwrite
 * each other.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { describeGraphPermissions, type GraphPermission } from "../../config/graph-permissions.ts";
import { isOwnResource } from "../../config/paths.ts";
import { randomToken, sameSecret, sha256b64url } from "../../core/encoding.ts";
import { escapeHtml } from "../../core/html.ts";
import { withFields } from "../../core/log.ts";
import { page, pageSecurityHeaders } from "../../core/page.ts";
import { telemetry } from "../../core/telemetry.ts";
import { upstreamAuthorizeUrl } from "../../entra/upstream.ts";
import { StoreValueError } from "../../store/store.ts";
import { renderConsentPage, STAY_SIGNED_IN } from "../browser/consent-page.ts";
import type { ClientRecord } from "../clients/metadata.ts";
import { redirectUriMatches } from "../clients/redirect-uri.ts";
import { AsError } from "../errors.ts";
import { type AsContext, errorPage, redirectToClient, tooManyRequestsPage } from "./context.ts";
import { OAUTH_PATHS } from "./metadata.ts";
import { signInCorrelationId } from "./register.ts";

export const PENDING_TTL_SEC = 10 * 60;
const CONSENT_COOKIE = "mcp-consent";
const CONSENT_REMEMBER_SEC = 30 * 24 * 60 * 60;
/** Most approvals one browser remembers (the oldest is forgotten first). */
const CONSENT_REMEMBER_MAX = 20;
/**
 * Longest `state` accepted. RFC 6749 leaves it unbounded; it is stored with the request and sent back
 * in a URL, so it is capped (real clients send 16-128 characters).
 */
export const MAX_STATE_LENGTH = 1024;

/** The cookie that binds one consent page to the browser it was shown to. */
const requestCookie = (requestId: string) => `mcp-req-${requestId.slice(0, 16)}`;
/** The cookie that binds one Entra round trip (by its `state`) to the browser that started it. */
export const txCookie = (stateId: string) => `mcp-tx-${stateId.slice(0, 16)}`;

/** An authorization request that passed validation and waits for consent, then for Entra. */
export interface PendingAuthorization {
  clientId: string;
  clientName: string;
  clientSource: ClientRecord["source"];
  redirectUri: string;
  /** Whether the client named the redirect URI (RFC 6749 §4.1.3: then `/token` must repeat it). */
  redirectUriGiven: boolean;
  /**
   * Refresh tokens for this grant: "Stay signed in" offered and, once the page is answered, kept ticked.
   * `scopes` carries `offline_access` exactly when this is true.
   */
  offline?: boolean;
  /**
   * The consent page offers "Stay signed in": the client registered for the `refresh_token` grant.
   * Absent on requests saved before the page offered the choice (their `offline` stands as asked).
   */
  offerOffline?: boolean;
  state?: string;
  codeChallenge: string;
  scopes: string[];
  resource?: string;
  csrf: string;
  /** Ties every log line of this sign-in together, from the registration to the first MCP call. */
  correlationId?: string;
}

/** The Entra leg of a pending authorization, keyed by the hash of the `state` sent to Entra. */
export interface UpstreamTransaction {
  request: PendingAuthorization;
  codeVerifier: string;
  nonce: string;
}

const CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

export function mountAuthorize(app: Hono, as: AsContext): void {
  const { config } = as;

  app.get(OAUTH_PATHS.authorize, async (c) => {
    // Each request below writes a row and may fetch a metadata document: one budget per caller.
    const limit = await as.limits.authorize.hit(as.callerAddress(c));
    if (!limit.allowed) {
      telemetry.rateLimitRefusal("authorize");
      as.logger.warn("authorize refused", { reason: "rate_limited" });
      return tooManyRequestsPage(c, limit.retryAfterSec);
    }
    const q = c.req.query();
    if (!q.client_id) return errorPage(c, 400, "Invalid request", "The request has no client_id.");
    let client: ClientRecord;
    try {
      client = await as.clients.resolve(q.client_id);
    } catch (err) {
      if (!(err instanceof AsError)) throw err;
      as.logger.warn("authorize: client refused", err.toLogFields());
      if (err.reason === "throttled") return tooManyRequestsPage(c, 60);
      return errorPage(c, 400, "Unknown application", err.message);
    }
    const correlationId = await signInCorrelationId(as, client.client_id);
    const log = withFields(as.logger, { correlationId, client: client.client_id });
    const redirectUri =
      q.redirect_uri ?? (client.redirect_uris.length === 1 ? client.redirect_uris[0] : undefined);
    if (!redirectUri || !redirectUriMatches(client.redirect_uris, redirectUri)) {
      log.warn("authorize: redirect URI not registered");
      return errorPage(
        c,
        400,
        "Invalid redirect URI",
        "The redirect_uri is not registered for this application, so the answer can't be sent back to it.",
      );
    }
    if (q.state !== undefined && q.state.length > MAX_STATE_LENGTH) {
      return errorPage(
        c,
        400,
        "Invalid request",
        `The request's state is longer than ${MAX_STATE_LENGTH} characters.`,
      );
    }
    const fail = (error: string, description: string) => {
      log.warn("authorize: request refused", { error, description });
      const params = { error, error_description: description, state: q.state };
      // RFC 9700 §4.11.2: no automatic redirect to a URI this server cannot vouch for before the user
      // has interacted; a pre-registered client's URI is the operator's own.
      if (client.source === "preregistered") return redirectToClient(c, config, redirectUri, params);
      return errorInterstitial(c, as, redirectUri, params, description);
    };

    if (q.response_type !== "code")
      return fail("unsupported_response_type", "Only response_type=code is supported.");
    if (!q.code_challenge)
      return fail(
        "invalid_request",
        "PKCE is required: send code_challenge with code_challenge_method=S256.",
      );
    if (q.code_challenge_method !== "S256")
      return fail("invalid_request", "Only code_challenge_method=S256 is supported.");
    if (!CHALLENGE.test(q.code_challenge))
      return fail("invalid_request", "code_challenge is not a valid S256 challenge.");
    // RFC 8707 §2: the resource, if named, must be this server (its MCP endpoint, or its legacy SSE one).
    if (q.resource !== undefined && !isOwnResource(config, q.resource)) {
      return fail("invalid_target", `This server issues tokens only for ${config.resource}.`);
    }
    const supported = [config.entra.scope, "offline_access"];
    const requested = (q.scope ?? "").split(" ").filter(Boolean);
    const unknown = requested.filter((s) => !supported.includes(s));
    if (unknown.length)
      return fail(
        "invalid_scope",
        `Unknown scope: ${unknown.join(" ").slice(0, 200)}. Supported: ${supported.join(" ")}.`,
      );
    // RFC 6749 §1.5, §6: whether to issue a refresh token is the authorization server's decision. Every
    // client registered for the refresh_token grant (RFC 7591 §2; the default is authorization_code
    // only) is offered one, whether or not it asked for offline_access (most MCP clients don't), and the
    // user decides with "Stay signed in" on the consent page (ticked by default). A client not
    // registered for the grant gets none, even when it asks. `scope` then names offline_access exactly
    // when a refresh token comes with the grant (RFC 6749 §3.3, §5.1: the scope granted, not asked).
    const offerOffline = client.grant_types.includes("refresh_token");
    const askedOffline = requested.includes("offline_access");
    const scopes = [config.entra.scope, ...(offerOffline ? ["offline_access"] : [])];

    const request: PendingAuthorization = {
      clientId: client.client_id,
      clientName: client.client_name ?? client.client_id,
      clientSource: client.source,
      redirectUri,
      redirectUriGiven: q.redirect_uri !== undefined,
      offline: offerOffline,
      offerOffline,
      state: q.state,
      codeChallenge: q.code_challenge,
      scopes,
      resource: q.resource,
      csrf: randomToken(24),
      correlationId,
    };

    const remembered = (await as.cookies.get<{ a: string[] }>(c, CONSENT_COOKIE))?.a ?? [];
    if (remembered.includes(await approvalId(request))) {
      log.info("authorize: consent remembered, on to Entra ID");
      return startUpstream(c, as, request);
    }
    // The user approved this client before without "Stay signed in": that choice holds, unless the
    // client now asks for offline_access itself, which asks the user again.
    const withoutOffline = staySignedIn(request, false);
    if (offerOffline && !askedOffline && remembered.includes(await approvalId(withoutOffline))) {
      log.info("authorize: consent remembered (without Stay signed in), on to Entra ID");
      return startUpstream(c, as, withoutOffline);
    }

    const requestId = randomToken(24);
    try {
      await as.store.put("pending", requestId, request, { ttlSec: PENDING_TTL_SEC, ifAbsent: true });
    } catch (err) {
      if (!(err instanceof StoreValueError)) throw err;
      log.warn("authorize: request too large");
      return errorPage(c, 400, "Invalid request", "The authorization request is too large.");
    }
    log.info("authorize: consent page shown");
    // The CSRF token alone is no defence against a request the attacker started and then makes the
    // victim's browser answer: bind the request to the browser the page is shown to, with a cookie of
    // its own, so another sign-in in the same browser does not replace it.
    await as.cookies.set(c, requestCookie(requestId), { r: requestId }, PENDING_TTL_SEC);
    const html = renderConsentPage({
      requestId,
      csrf: request.csrf,
      clientName: request.clientName,
      clientIdHost: client.source === "cimd" ? new URL(client.client_id).host : undefined,
      clientKind: client.source,
      redirectUri,
      scopes: describeScopes([config.entra.scope], as.graphPermissions),
      staySignedIn: offerOffline,
      formAction: OAUTH_PATHS.consent,
    });
    return c.html(html, 200, pageSecurityHeaders(formTargets(as, redirectUri)));
  });

  app.post(OAUTH_PATHS.consent, async (c) => {
    // Defence in depth next to the CSRF token: a cross-site form post carries a foreign Origin.
    const origin = c.req.header("origin");
    if (origin && origin !== config.publicOrigin.origin) {
      return errorPage(
        c,
        403,
        "Request refused",
        "This form can only be submitted from this server's own page.",
      );
    }
    const form = await c.req.parseBody();
    const requestId = String(form.request_id ?? "");
    const entry =
      requestId && requestId.length <= 64
        ? await as.store.get<PendingAuthorization>("pending", requestId)
        : undefined;
    if (!entry)
      return errorPage(
        c,
        400,
        "Request expired",
        "This sign-in request expired or was already answered. Start again from your application.",
      );
    const pending = entry.value;
    const log = withFields(as.logger, { correlationId: pending.correlationId, client: pending.clientId });
    const bound = (await as.cookies.get<{ r: string }>(c, requestCookie(requestId)))?.r ?? "";
    if (
      !(await sameSecret(String(form.csrf_token ?? ""), pending.csrf)) ||
      !(await sameSecret(bound, requestId))
    ) {
      log.warn("consent: security token or browser mismatch");
      return errorPage(
        c,
        403,
        "Request refused",
        "The form's security token did not match. Start again from your application.",
      );
    }
    // One answer per request: the first decision spends it.
    try {
      await as.store.delete("pending", requestId, { ifMatch: entry.etag });
    } catch {
      log.warn("consent: already answered");
      return errorPage(c, 400, "Request expired", "This sign-in request was already answered.");
    }
    as.cookies.clear(c, requestCookie(requestId));
    // The "Stay signed in" box, as the user left it (an unticked box is not sent). A request saved
    // before the page offered the choice keeps what it asked for.
    const request =
      pending.offerOffline === undefined
        ? pending
        : staySignedIn(pending, pending.offerOffline && form[STAY_SIGNED_IN] === "yes");
    if (form.decision !== "approve") {
      log.info("consent: denied");
      return redirectToClient(c, config, request.redirectUri, {
        error: "access_denied",
        error_description: "The user denied the request.",
        state: request.state,
      });
    }
    // Remembered for this client, this redirect URI and these scopes (with or without "Stay signed
    // in") only: asking for more, or for the answer to go elsewhere, shows the page again.
    const approval = await approvalId(request);
    const remembered = (await as.cookies.get<{ a: string[] }>(c, CONSENT_COOKIE))?.a ?? [];
    const approvals = [approval, ...remembered.filter((id) => id !== approval)].slice(
      0,
      CONSENT_REMEMBER_MAX,
    );
    await as.cookies.set(c, CONSENT_COOKIE, { a: approvals }, CONSENT_REMEMBER_SEC);
    log.info("consent: approved, on to Entra ID");
    return startUpstream(c, as, request);
  });
}

/** The request with "Stay signed in" ticked or not: `offline_access` in the scopes follows it. */
function staySignedIn(r: PendingAuthorization, on: boolean): PendingAuthorization {
  const scopes = r.scopes.filter((s) => s !== "offline_access");
  return { ...r, offline: on, scopes: on ? [...scopes, "offline_access"] : scopes };
}

/**
 * What one approval covers: the client, where the answer goes, and the scopes, hashed together. An
 * approval that turned "Stay signed in" down is marked as such, so that an approval from before the
 * page offered it (same scopes, no mark) is never taken for a choice the user did not make.
 */
async function approvalId(
  r: Pick<PendingAuthorization, "clientId" | "redirectUri" | "scopes" | "offline" | "offerOffline">,
) {
  const scopes = [...r.scopes].sort().join(" ");
  const declined = r.offerOffline && !r.offline ? "\nstay-signed-in:no" : "";
  return (await sha256b64url(`${r.clientId}\n${r.redirectUri}\n${scopes}${declined}`)).slice(0, 22);
}

/**
 * An error for a client whose redirect URI this server cannot vouch for: a page that says what went
 * wrong and names the host the link returns to, instead of an automatic redirect (RFC 9700 §4.11.2).
 */
function errorInterstitial(
  c: Context,
  as: AsContext,
  redirectUri: string,
  params: Record<string, string | undefined>,
  description: string,
) {
  const back = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) back.searchParams.set(k, v);
  back.searchParams.set("iss", as.config.publicUrl);
  const host = back.protocol === "http:" || back.protocol === "https:" ? back.host : back.protocol;
  return c.html(
    page(
      "The application's request was refused",
      `<p>${escapeHtml(description)}</p>
<p>You have not signed in and nothing was shared. The link below returns the error to the application at
<strong><code>${escapeHtml(host)}</code></strong>; follow it only if you trust that site.</p>
<p class="actions"><a class="button" rel="noreferrer" href="${escapeHtml(back.toString())}">Return to ${escapeHtml(host)}</a></p>`,
    ),
    400,
    pageSecurityHeaders([]),
  );
}

/** Saves the Entra leg (state, PKCE verifier, nonce) and redirects the browser to Entra. */
async function startUpstream(c: Context, as: AsContext, request: PendingAuthorization) {
  const state = randomToken(32);
  const codeVerifier = randomToken(32);
  const nonce = randomToken(16);
  const stateId = await sha256b64url(state);
  const tx: UpstreamTransaction = { request, codeVerifier, nonce };
  await as.store.put("pending", `up_${stateId}`, tx, { ttlSec: PENDING_TTL_SEC, ifAbsent: true });
  // Binds the callback to this browser: a `state` replayed from another browser is refused. One cookie
  // per `state`, so concurrent sign-ins in one browser each keep theirs.
  await as.cookies.set(c, txCookie(stateId), { s: stateId }, PENDING_TTL_SEC);
  // RFC 7636 §4.2: S256 challenge = BASE64URL(SHA256(verifier)).
  const challenge = await sha256b64url(codeVerifier);
  return c.redirect(
    upstreamAuthorizeUrl(as.config, {
      state,
      nonce,
      codeChallenge: challenge,
      graphPermissions: as.graphPermissions,
    }),
    302,
  );
}

/**
 * What a grant's scopes let the client do, in the user's words (the consent page and Connected apps); the
 * Graph part is generated from the tools' declared permissions.
 */
export function describeScopes(
  scopes: string[],
  graphPermissions: readonly GraphPermission[] = [],
): string[] {
  const graph = graphPermissions.length
    ? `, which may ${describeGraphPermissions(graphPermissions)} in Microsoft Graph (${graphPermissions.join(", ")})`
    : "";
  const out = [`Use this server's tools as you${graph}`];
  if (scopes.includes("offline_access"))
    out.push("Stay signed in (refresh its access without asking you again)");
  return out;
}

/** Where the consent form's post may lead: this server, Entra, and the client's redirect URI. */
function formTargets(as: AsContext, redirectUri: string): string[] {
  const r = new URL(redirectUri);
  const client = r.protocol === "http:" || r.protocol === "https:" ? r.origin : r.protocol;
  return [new URL(as.config.entra.browserAuthorityHost).origin, client];
}
