/**
 * `/authorize` and the consent step, as a pipeline of checks in the order the specs require them:
 *
 * 1. the client is known (pre-registered, CIMD or DCR) — else an error page;
 * 2. the redirect URI is registered (exact match; loopback port may vary, RFC 8252 §7.3) — else an
 *    error page, never a redirect (RFC 6749 §4.1.2.1);
 * 3. from here errors go back to the client with `error`, `state` and `iss`: `response_type=code`,
 *    PKCE with S256 (OAuth 2.1 §4.1.1), `resource` = this server's MCP URL (RFC 8707), known scopes;
 * 4. consent: a page naming the client and where the answer goes, unless this browser already
 *    approved this client (signed cookie);
 * 5. only then the redirect to Entra, with the server's own client id, PKCE pair, `state` and `nonce`.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { describeGraphPermissions, type GraphPermission } from "../../config/graph-permissions.ts";
import { isOwnResource } from "../../config/paths.ts";
import { randomToken, sha256b64url } from "../../core/encoding.ts";
import { pageSecurityHeaders } from "../../core/page.ts";
import { upstreamAuthorizeUrl } from "../../entra/upstream.ts";
import { renderConsentPage } from "../browser/consent-page.ts";
import type { ClientRecord } from "../clients/metadata.ts";
import { redirectUriMatches } from "../clients/redirect-uri.ts";
import { AsError } from "../errors.ts";
import { type AsContext, errorPage, redirectToClient } from "./context.ts";
import { OAUTH_PATHS } from "./metadata.ts";

export const PENDING_TTL_SEC = 10 * 60;
const CONSENT_COOKIE = "mcp-consent";
const TX_COOKIE = "mcp-tx";
/** Identifies the browser a consent page was shown to, so only that browser can answer it. */
const BROWSER_COOKIE = "mcp-browser";
const CONSENT_REMEMBER_SEC = 30 * 24 * 60 * 60;

/** An authorization request that passed validation and waits for consent, then for Entra. */
export interface PendingAuthorization {
  clientId: string;
  clientName: string;
  clientSource: ClientRecord["source"];
  redirectUri: string;
  /** Whether the client named the redirect URI (RFC 6749 §4.1.3: then `/token` must repeat it). */
  redirectUriGiven: boolean;
  state?: string;
  codeChallenge: string;
  scopes: string[];
  resource?: string;
  csrf: string;
  /** The browser the consent page was shown to (its `mcp-browser` cookie). */
  browser?: string;
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
    const q = c.req.query();
    if (!q.client_id) return errorPage(c, 400, "Invalid request", "The request has no client_id.");
    let client: ClientRecord;
    try {
      client = await as.clients.resolve(q.client_id);
    } catch (err) {
      if (!(err instanceof AsError)) throw err;
      as.logger.warn("authorize: client refused", err.toLogFields());
      return errorPage(c, 400, "Unknown application", err.message);
    }
    const redirectUri =
      q.redirect_uri ?? (client.redirect_uris.length === 1 ? client.redirect_uris[0] : undefined);
    if (!redirectUri || !redirectUriMatches(client.redirect_uris, redirectUri)) {
      return errorPage(
        c,
        400,
        "Invalid redirect URI",
        "The redirect_uri is not registered for this application, so the answer can't be sent back to it.",
      );
    }
    const fail = (error: string, description: string) =>
      redirectToClient(c, config, redirectUri, { error, error_description: description, state: q.state });

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
      return fail("invalid_scope", `Unknown scope: ${unknown.join(" ")}. Supported: ${supported.join(" ")}.`);
    const scopes = [config.entra.scope, ...requested.filter((s) => s !== config.entra.scope)];

    const request: PendingAuthorization = {
      clientId: client.client_id,
      clientName: client.client_name ?? client.client_id,
      clientSource: client.source,
      redirectUri,
      redirectUriGiven: q.redirect_uri !== undefined,
      state: q.state,
      codeChallenge: q.code_challenge,
      scopes,
      resource: q.resource,
      csrf: randomToken(24),
    };

    const remembered = await as.cookies.get<{ clients: string[] }>(c, CONSENT_COOKIE);
    if (remembered?.clients.includes(client.client_id)) return startUpstream(c, as, request);

    // The CSRF token alone is no defence against a request the attacker started and then makes the
    // victim's browser answer: bind the request to the browser the page is shown to.
    const browser = (await as.cookies.get<{ b: string }>(c, BROWSER_COOKIE))?.b ?? randomToken(24);
    await as.cookies.set(c, BROWSER_COOKIE, { b: browser }, PENDING_TTL_SEC);
    request.browser = browser;
    const requestId = randomToken(24);
    await as.store.put("pending", requestId, request, { ttlSec: PENDING_TTL_SEC, ifAbsent: true });
    const html = renderConsentPage({
      requestId,
      csrf: request.csrf,
      clientName: request.clientName,
      clientIdHost: client.source === "cimd" ? new URL(client.client_id).host : undefined,
      clientKind: client.source,
      redirectUri,
      scopes: describeScopes(scopes, as.graphPermissions),
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
    const entry = requestId ? await as.store.get<PendingAuthorization>("pending", requestId) : undefined;
    if (!entry)
      return errorPage(
        c,
        400,
        "Request expired",
        "This sign-in request expired or was already answered. Start again from your application.",
      );
    const request = entry.value;
    const browser = (await as.cookies.get<{ b: string }>(c, BROWSER_COOKIE))?.b ?? "";
    if (
      !(await sameSecret(String(form.csrf_token ?? ""), request.csrf)) ||
      !(await sameSecret(browser, request.browser ?? ""))
    ) {
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
      return errorPage(c, 400, "Request expired", "This sign-in request was already answered.");
    }
    if (form.decision !== "approve") {
      return redirectToClient(c, config, request.redirectUri, {
        error: "access_denied",
        error_description: "The user denied the request.",
        state: request.state,
      });
    }
    const remembered = (await as.cookies.get<{ clients: string[] }>(c, CONSENT_COOKIE))?.clients ?? [];
    const clients = [request.clientId, ...remembered.filter((id) => id !== request.clientId)].slice(0, 20);
    await as.cookies.set(c, CONSENT_COOKIE, { clients }, CONSENT_REMEMBER_SEC);
    return startUpstream(c, as, request);
  });
}

/** Saves the Entra leg (state, PKCE verifier, nonce) and redirects the browser to Entra. */
async function startUpstream(c: Context, as: AsContext, request: PendingAuthorization) {
  const state = randomToken(32);
  const codeVerifier = randomToken(32);
  const nonce = randomToken(16);
  const stateId = await sha256b64url(state);
  const tx: UpstreamTransaction = { request, codeVerifier, nonce };
  await as.store.put("pending", `up_${stateId}`, tx, { ttlSec: PENDING_TTL_SEC, ifAbsent: true });
  // Binds the callback to this browser: a `state` replayed from another browser is refused.
  await as.cookies.set(c, TX_COOKIE, { s: stateId }, PENDING_TTL_SEC);
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

export const TX_COOKIE_NAME = TX_COOKIE;

/** Constant-time comparison through hashing both sides. */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256b64url(a), sha256b64url(b)]);
  let diff = ha.length ^ hb.length;
  for (let i = 0; i < ha.length && i < hb.length; i++) diff |= ha.charCodeAt(i) ^ hb.charCodeAt(i);
  return diff === 0 && a.length > 0;
}

/** What the client may do, in words; the Graph part is generated from the tools' declared permissions. */
function describeScopes(scopes: string[], graphPermissions: readonly GraphPermission[]): string[] {
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
  return [as.config.entra.authorityHost, client];
}
