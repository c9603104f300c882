/**
 * The Connected apps page (`/connected-apps`): a person signs in with Entra ID through this server's own
 * sign-in (authorization code + PKCE with the managed identity's client assertion, like the proxy's
 * callback, but returning to `/connected-apps/callback`), sees the grants they gave MCP clients, and
 * revokes one or all. Holders of the `MCP.Admin` app role (Entra's `roles` claim) also find and revoke
 * anyone's grants in their own tenant, by user or by client.
 *
 * The sign-in leaves a short-lived signed session cookie (`__Host-` over https, HttpOnly, Secure,
 * SameSite=Lax) holding who signed in, whether they are an administrator, and the CSRF token every form
 * carries; the pages cannot be framed and run no script. A revocation deletes the grant row, which every
 * instance reads on every request, so the grant's tokens stop working at once everywhere; each one is an
 * audit event in the log.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { jwtVerify } from "jose";
import {
  CONNECTED_APPS_CALLBACK_PATH,
  CONNECTED_APPS_PATH,
  connectedAppsCallbackUrl,
} from "../../config/paths.ts";
import { randomToken, sameSecret, sha256b64url } from "../../core/encoding.ts";
import { escapeHtml } from "../../core/html.ts";
import { page, pageSecurityHeaders } from "../../core/page.ts";
import type { Principal } from "../../core/principal.ts";
import { entraFailure } from "../../entra/errors.ts";
import { pageSignInScope, upstreamAuthorizeUrl } from "../../entra/upstream.ts";
import { renderConnectedAppsPage } from "../browser/connected-apps-page.ts";
import { LAST_USED_RESOLUTION_MS } from "../tokens/grants.ts";
import { ADMIN_ROLE, auditRevocation, type GrantAdmin } from "./admin-grants.ts";
import { describeScopes, PENDING_TTL_SEC } from "./authorize.ts";
import { type AsContext, errorPage, tooManyRequestsPage } from "./context.ts";

/** How long a Connected apps sign-in lasts: short, as it can end anyone's access. */
export const SESSION_TTL_SEC = 15 * 60;
const SESSION_COOKIE = "mcp-apps";
const txCookie = (stateId: string) => `mcp-apps-tx-${stateId.slice(0, 16)}`;

interface Session {
  tid: string;
  oid: string;
  name?: string;
  username?: string;
  admin: boolean;
  csrf: string;
}

interface PageSignIn {
  codeVerifier: string;
  nonce: string;
}

export function mountConnectedApps(app: Hono, as: AsContext, admin: GrantAdmin): void {
  const { config } = as;
  const headers = () => pageSecurityHeaders([]);
  const session = (c: Context) => as.cookies.get<Session>(c, SESSION_COOKIE);

  app.get(CONNECTED_APPS_PATH, async (c) => {
    const s = await session(c);
    if (!s) {
      return c.html(
        page(
          "Connected apps",
          `<p>See the apps you connected to this MCP server, and end the access of any you no longer use.</p>
<p class="actions"><a class="button primary" href="${CONNECTED_APPS_PATH}/signin">Sign in with Microsoft</a></p>`,
        ),
        200,
        headers(),
      );
    }
    const q = c.req.query();
    const grants = await as.grants.listByUser(s.tid, s.oid);
    let adminView: Parameters<typeof renderConnectedAppsPage>[0]["admin"];
    if (s.admin) {
      const query = { user: q.user?.trim() || undefined, client: q.client?.trim() || undefined };
      adminView = { query };
      if (query.user || query.client) {
        const found = await admin.find(s.tid, query);
        if ("message" in found) adminView.message = found.message;
        else adminView.grants = found.grants;
      }
    }
    const revoked = Number(q.revoked);
    const html = renderConnectedAppsPage({
      who: s,
      csrf: s.csrf,
      grants,
      describe: (scopes) => describeScopes(scopes, as.graphPermissions),
      lastUsedMinutes: LAST_USED_RESOLUTION_MS / 60_000,
      notice:
        Number.isInteger(revoked) && revoked >= 0 && q.revoked !== undefined ? noticeOf(revoked) : undefined,
      admin: adminView,
    });
    return c.html(html, 200, headers());
  });

  app.get(`${CONNECTED_APPS_PATH}/signin`, async (c) => {
    // Each sign-in writes a row: the same per-caller budget as /authorize.
    const limit = await as.limits.authorize.hit(as.callerAddress(c));
    if (!limit.allowed) return tooManyRequestsPage(c, limit.retryAfterSec);
    const state = randomToken(32);
    const codeVerifier = randomToken(32);
    const nonce = randomToken(16);
    const stateId = await sha256b64url(state);
    const tx: PageSignIn = { codeVerifier, nonce };
    await as.store.put("pending", `apps_${stateId}`, tx, { ttlSec: PENDING_TTL_SEC, ifAbsent: true });
    // The return is bound to this browser, one cookie per sign-in (as the proxy's own sign-in).
    await as.cookies.set(c, txCookie(stateId), { s: stateId }, PENDING_TTL_SEC);
    return c.redirect(
      upstreamAuthorizeUrl(config, {
        state,
        nonce,
        codeChallenge: await sha256b64url(codeVerifier),
        redirectUri: connectedAppsCallbackUrl(config),
        scope: pageSignInScope(config),
      }),
      302,
    );
  });

  app.get(CONNECTED_APPS_CALLBACK_PATH, async (c) => {
    const q = c.req.query();
    const again = "Sign in again from the Connected apps page.";
    if (!q.state) return errorPage(c, 400, "Sign-in failed", `Entra ID returned without a state. ${again}`);
    const stateId = await sha256b64url(q.state);
    const entry = await as.store.get<PageSignIn>("pending", `apps_${stateId}`);
    if (!entry)
      return errorPage(c, 400, "Sign-in expired", `This sign-in expired or was completed. ${again}`);
    if ((await as.cookies.get<{ s: string }>(c, txCookie(stateId)))?.s !== stateId) {
      return errorPage(c, 400, "Sign-in refused", `This sign-in was started in another browser. ${again}`);
    }
    try {
      await as.store.delete("pending", `apps_${stateId}`, { ifMatch: entry.etag });
    } catch {
      return errorPage(c, 400, "Sign-in expired", `This sign-in was already completed. ${again}`);
    }
    as.cookies.clear(c, txCookie(stateId));
    if (q.error || !q.code) {
      as.logger.warn("connected apps: Entra returned an error", { error: q.error ?? "no code" });
      return errorPage(
        c,
        400,
        "Sign-in failed",
        `Sign-in with Microsoft Entra ID failed: ${q.error_description?.split("\n")[0] ?? q.error ?? "no code"}`,
      );
    }
    let principal: Principal;
    try {
      const tokens = await as.upstream.redeemCode(q.code, entry.value.codeVerifier, {
        redirectUri: connectedAppsCallbackUrl(config),
        scope: pageSignInScope(config),
      });
      // OIDC Core §3.1.3.7: our audience, an allowed tenant's issuer, our nonce.
      if (!tokens.idToken) throw new Error("no id_token");
      const { payload: id } = await jwtVerify(tokens.idToken, as.entraKeys, {
        algorithms: ["RS256"],
        issuer: config.entra.issuers,
        audience: config.entra.clientId,
        currentDate: new Date(as.now()),
        clockTolerance: 60,
      });
      if (id.nonce !== entry.value.nonce) throw new Error("nonce mismatch");
      ({ principal } = await as.entraVerifier.verify(tokens.accessToken));
      if (String(id.oid).toLowerCase() !== principal.objectId) throw new Error("tokens name different users");
    } catch (err) {
      const failure = entraFailure(config, err, "the sign-in");
      as.logger.warn("connected apps: sign-in refused", { error: (err as Error).message.slice(0, 300) });
      return errorPage(c, 400, "Sign-in failed", `The sign-in could not be completed: ${failure.message}`);
    }
    const s: Session = {
      tid: principal.tenantId,
      oid: principal.objectId,
      name: principal.name,
      username: principal.username,
      admin: principal.roles?.includes(ADMIN_ROLE) ?? false,
      csrf: randomToken(24),
    };
    await as.cookies.set(c, SESSION_COOKIE, { ...s }, SESSION_TTL_SEC);
    as.logger.info("connected apps: signed in", { oid: s.oid, tid: s.tid, admin: s.admin });
    return c.redirect(CONNECTED_APPS_PATH, 303);
  });

  /** The session behind a form post, or an error page: same origin, signed in, the session's CSRF token. */
  async function formSession(c: Context): Promise<{ s: Session; form: Record<string, string> } | Response> {
    const origin = c.req.header("origin");
    if (origin && origin !== config.publicOrigin.origin) {
      return errorPage(
        c,
        403,
        "Request refused",
        "This form can only be submitted from this server's own page.",
      );
    }
    const s = await session(c);
    if (!s) return errorPage(c, 403, "Signed out", "Your sign-in on this page ended. Sign in again.");
    const body = await c.req.parseBody();
    const form = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, String(v)]));
    if (!(await sameSecret(form.csrf_token ?? "", s.csrf))) {
      return errorPage(
        c,
        403,
        "Request refused",
        "The form's security token did not match. Reload the page.",
      );
    }
    return { s, form };
  }

  app.post(`${CONNECTED_APPS_PATH}/revoke`, async (c) => {
    const checked = await formSession(c);
    if (checked instanceof Response) return checked;
    const { s, form } = checked;
    const actor = { tid: s.tid, oid: s.oid, admin: s.admin, via: "page" as const };
    let revoked = 0;
    const back = new URLSearchParams();
    if (form.admin === "1" || form.all === "user" || form.all === "client") {
      if (!s.admin) return errorPage(c, 403, "Request refused", "This needs the administrator role.");
      if (form.user) back.set("user", form.user);
      if (form.client) back.set("client", form.client);
      if (form.grant) revoked = (await admin.revokeOne(actor, form.grant)) ? 1 : 0;
      else revoked = await admin.revokeAll(actor, { user: form.user, client: form.client });
    } else {
      // A person's own grants: only those the index lists for them.
      const mine = await as.grants.listByUser(s.tid, s.oid);
      const targets = form.all === "mine" ? mine : mine.filter((g) => g.grantId === form.grant);
      for (const g of targets) {
        const ended = await as.grants.end(g.grantId);
        if (ended) {
          auditRevocation(as.logger, actor, ended);
          revoked++;
        }
      }
    }
    back.set("revoked", String(revoked));
    return c.redirect(`${CONNECTED_APPS_PATH}?${back}`, 303);
  });

  app.post(`${CONNECTED_APPS_PATH}/signout`, async (c) => {
    const checked = await formSession(c);
    if (checked instanceof Response) return checked;
    as.cookies.clear(c, SESSION_COOKIE);
    return c.html(
      page(
        "Signed out",
        `<p>You are signed out of the Connected apps page.</p>
<p class="actions"><a class="button" href="${escapeHtml(CONNECTED_APPS_PATH)}">Back to Connected apps</a></p>`,
      ),
      200,
      headers(),
    );
  });
}

function noticeOf(n: number): string {
  if (n === 0) return "Nothing was revoked: it had already ended.";
  return n === 1
    ? "Revoked 1 grant. Its tokens no longer work."
    : `Revoked ${n} grants. Their tokens no longer work.`;
}
