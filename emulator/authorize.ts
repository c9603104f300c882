// /authorize with plain HTML pages (sign-in picker, consent, error, form_post), per reference §4.
//
// Page contract (what emulator/signin.ts drives; stable for tests):
//  * every page has <meta name="emulator-page" content="signin|consent|error|form_post">;
//  * sign-in ("Pick an account"): <form id="signin" method="post" action="/{tenant}/login"> with
//    hidden `ctx` and one submit button `login` per seeded user (value = UPN): one click signs in;
//    POST ctx + login. The request stays valid after use, so a second click, a double click or Back
//    and another pick signs in again instead of ending on an error page;
//  * consent: <form id="consent" method="post" action="/{tenant}/Consent/Set"> with hidden `ctx`;
//    POST ctx + acceptConsent=true|false;
//  * error: no redirect to the client; the AADSTS message is in <p id="message"> and data-error-code;
//  * the final answer to the client is a 302 (query/fragment) or a form_post page.
import { randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import { tenantKind } from "./discovery.ts";
import { aadError } from "./errors.ts";
import { applyFault, retryAfterHeader } from "./faults.ts";
import { escapeHtml, readForm, sleep } from "./http.ts";
import { randomId } from "./keys.ts";
import { checkResourceParam, missingConsent, parseScopes, splitScopes } from "./scopes.ts";
import type { PendingAuthorization, State } from "./state.ts";
import type { AppRegistration, User } from "./tenant.ts";

const COOKIE = "ESTSAUTH";
/** Pending authorization requests kept for re-use (Back, double clicks); the oldest go first. */
const MAX_PENDING = 1000;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Exact match, except that loopback http URIs ignore the port (RFC 8252 §7.3; host and path must match). */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  let req: URL;
  try {
    req = new URL(requested);
  } catch {
    return false;
  }
  if (req.protocol !== "http:" || !LOOPBACK.has(req.hostname)) return false;
  return registered.some((r) => {
    try {
      const reg = new URL(r);
      return (
        reg.protocol === "http:" &&
        reg.hostname === req.hostname &&
        reg.pathname === req.pathname &&
        reg.search === req.search &&
        !req.hash
      );
    } catch {
      return false;
    }
  });
}

function page(
  kind: string,
  title: string,
  body: string,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="emulator-page" content="${kind}">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
button{margin:.5rem .5rem 0 0;padding:.4rem 1.2rem}.note{color:#595959;font-size:.85rem}
.tiles{list-style:none;padding:0;margin:1rem 0}.tiles li{margin:0 0 .5rem}
.tile{display:block;width:100%;margin:0;padding:.75rem 1rem;text-align:left;font:inherit;
background:#fff;border:1px solid #8a8886;border-radius:2px;cursor:pointer}
.tile:hover,.tile:focus{background:#f3f2f1}.tile .upn{display:block;color:#595959;font-size:.9rem}</style></head>
<body><p class="note">Microsoft Entra ID (local emulator)</p>
${body}
</body></html>`;
  return new Response(html, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store, no-cache",
      "X-Frame-Options": "DENY",
      "Content-Security-Policy": "frame-ancestors 'none'",
      ...headers,
    },
  });
}

function errorPage(
  state: State,
  code: number,
  params: Record<string, string>,
  correlationId?: string,
  status = 400,
  headers: Record<string, string> = {},
): Response {
  state.countError("authorize");
  const err = aadError(code, params, {
    traceId: randomUUID(),
    correlationId: correlationId || randomUUID(),
    now: state.now(),
  });
  const msg = String(err.body.error_description).split(" Trace ID:")[0];
  return page(
    "error",
    "Sign in",
    `<h1>Sign in</h1><p>Sorry, but we're having trouble signing you in.</p>
<dl><dt>Request Id</dt><dd>${err.body.trace_id}</dd><dt>Correlation Id</dt><dd>${err.body.correlation_id}</dd>
<dt>Timestamp</dt><dd>${err.body.timestamp}</dd></dl>
<p id="message" data-error-code="${code}">Message: ${escapeHtml(msg)}</p>`,
    status,
    headers,
  );
}

/** The answer that goes back to the client: 302 (query/fragment) or an auto-posting form. */
function respondToClient(params: Record<string, string>, fields: Record<string, string>): Response {
  const mode = params.response_mode || "query";
  const redirectUri = params.redirect_uri;
  if (mode === "form_post") {
    const inputs = Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join("\n");
    return page(
      "form_post",
      "Working...",
      `<form id="form_post" method="post" action="${escapeHtml(redirectUri)}">${inputs}
<noscript><button type="submit">Continue</button></noscript></form>
<script>document.getElementById("form_post").submit()</script>`,
    );
  }
  const url = new URL(redirectUri);
  if (mode === "fragment") url.hash = new URLSearchParams(fields).toString();
  else for (const [k, v] of Object.entries(fields)) url.searchParams.append(k, v);
  return new Response(null, {
    status: 302,
    headers: { Location: url.toString(), "Cache-Control": "no-store" },
  });
}

function errorRedirect(
  state: State,
  params: Record<string, string>,
  code: number,
  msgParams: Record<string, string>,
  extra: Record<string, string> = {},
): Response {
  state.countError("authorize");
  const err = aadError(code, msgParams, {
    traceId: randomUUID(),
    correlationId: params["client-request-id"] || randomUUID(),
    now: state.now(),
  });
  const description = String(err.body.error_description).replace(
    / (Trace ID|Correlation ID|Timestamp):/g,
    "\r\n$1:",
  );
  const fields: Record<string, string> = { error: String(err.body.error), error_description: description };
  Object.assign(fields, extra);
  fields.error_uri = `https://login.microsoftonline.com/error?code=${code}`;
  if (params.state !== undefined) fields.state = params.state;
  return respondToClient(params, fields);
}

function getSession(state: State, c: Context) {
  const cookie = c.req.header("cookie") ?? "";
  const m = cookie.match(new RegExp(`(?:^|;\\s*)${COOKIE}=([^;]+)`));
  return m ? state.sessions.get(m[1]) : undefined;
}

/**
 * Whether a `claims` request asks for more than client capabilities (a Conditional Access or CAE
 * challenge): then Entra signs the user in interactively again, with the extra step (MFA) the policy needs.
 */
export function demandsStepUp(claims: string | undefined): boolean {
  if (!claims) return false;
  try {
    const parsed = JSON.parse(claims) as Record<string, Record<string, unknown> | undefined>;
    return Object.values(parsed).some((req) => Object.keys(req ?? {}).some((k) => k !== "xms_cc"));
  } catch {
    return false;
  }
}

function signInPage(state: State, pid: string, pending: PendingAuthorization, notice = ""): Response {
  const hint = (pending.params.login_hint ?? "").toLowerCase();
  const client = state.app(pending.params.client_id)!;
  // Like Entra's tiles: one button per account, the hinted one first and focused.
  const users = [...state.users].sort(
    (a, b) =>
      Number(b.userPrincipalName.toLowerCase() === hint) - Number(a.userPrincipalName.toLowerCase() === hint),
  );
  const tiles = users
    .map((u, i) => {
      const focus = i === 0 && hint && u.userPrincipalName.toLowerCase() === hint ? " autofocus" : "";
      return `<li><button type="submit" class="tile" name="login" value="${escapeHtml(u.userPrincipalName)}"${focus}><span class="name">${escapeHtml(u.displayName)}</span> <span class="upn">${escapeHtml(u.userPrincipalName)}</span></button></li>`;
    })
    .join("\n");
  return page(
    "signin",
    "Sign in to your account",
    `<h1>Pick an account</h1><p>to continue to <b>${escapeHtml(client.displayName)}</b></p>
${notice ? `<p role="alert">${escapeHtml(notice)}</p>` : ""}
${demandsStepUp(pending.params.claims) ? '<p id="mfa">Your organisation requires additional verification: signing in here completes it (emulated multi-factor authentication).</p>' : ""}
<form id="signin" method="post" action="/${escapeHtml(pending.tenantSegment)}/login">
<input type="hidden" name="ctx" value="${pid}">
<ul class="tiles">
${tiles}
</ul></form>
<p class="note">Emulated accounts: no password is asked.</p>`,
  );
}

function consentPage(state: State, pid: string, pending: PendingAuthorization, scopes: string[], user: User) {
  const client = state.app(pending.params.client_id)!;
  const items = scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join("");
  return page(
    "consent",
    "Permissions requested",
    `<h1>Permissions requested</h1><p><b>${escapeHtml(client.displayName)}</b> (unverified) wants to:</p>
<ul id="scopes">${items || "<li>Sign you in and read your profile</li>"}</ul>
<p>Signed in as ${escapeHtml(user.userPrincipalName)}. Accepting lets this app use the data as described.</p>
<form id="consent" method="post" action="/${escapeHtml(pending.tenantSegment)}/Consent/Set">
<input type="hidden" name="ctx" value="${pid}">
<button type="submit" name="acceptConsent" value="false">Cancel</button>
<button type="submit" name="acceptConsent" value="true">Accept</button></form>`,
  );
}

function issueCode(state: State, pending: PendingAuthorization, user: User, sid: string, authTime: number) {
  const p = pending.params;
  const code = `1.${randomId(48)}`;
  state.codes.set(code, {
    clientId: p.client_id,
    redirectUri: p.redirect_uri,
    scopes: splitScopes(p.scope),
    oid: user.id,
    codeChallenge: p.code_challenge,
    codeChallengeMethod: p.code_challenge ? p.code_challenge_method || "plain" : undefined,
    nonce: p.nonce,
    sid,
    authTime,
    issuedAt: state.now(),
    used: false,
  });
  const fields: Record<string, string> = { code };
  if (p.client_info === "1") fields.client_info = state.clientInfo(user.id);
  if (p.state !== undefined) fields.state = p.state;
  fields.session_state = sid;
  return respondToClient(p, fields);
}

function consentNeeded(state: State, client: AppRegistration, user: User, scope: string): string[] {
  const parsed = parseScopes(state, client, splitScopes(scope));
  return "code" in parsed ? [] : missingConsent(state, client, user.id, parsed);
}

/** After the user is known: consent page when needed (or prompt=consent), else the code. */
function afterSignIn(
  state: State,
  pid: string,
  pending: PendingAuthorization,
  user: User,
  sid: string,
  at: number,
) {
  const client = state.app(pending.params.client_id)!;
  const missing = consentNeeded(state, client, user, pending.params.scope);
  const prompt = pending.params.prompt;
  if (missing.length > 0 || prompt === "consent") {
    pending.oid = user.id;
    const shown = prompt === "consent" ? splitScopes(pending.params.scope) : missing;
    return consentPage(state, pid, pending, shown, user);
  }
  return issueCode(state, pending, user, sid, at);
}

/** Entra's cookie attributes on HTTPS; on the plain-HTTP loopback listener a browser would drop `Secure`. */
const cookieAttributes = (secure: boolean) =>
  secure ? "Secure; HttpOnly; SameSite=None" : "HttpOnly; SameSite=Lax";

function startSession(
  state: State,
  user: User,
  secure: boolean,
): { sid: string; cookie: string; authTime: number } {
  const sid = randomUUID();
  const authTime = Math.floor(state.now() / 1000);
  state.sessions.set(sid, { oid: user.id, sid, authTime });
  return { sid, authTime, cookie: `${COOKIE}=${sid}; Path=/; ${cookieAttributes(secure)}` };
}

async function authorize(state: State, c: Context): Promise<Response> {
  state.count("authorize");
  const delay = state.takeDelay("authorize");
  if (delay) await sleep(delay);
  const params: Record<string, string> = {};
  for (const [k, v] of new URL(c.req.url).searchParams) if (!(k in params)) params[k] = v;
  if (c.req.method === "POST") Object.assign(params, await readForm(c));
  const cid = params["client-request-id"];
  const injected = await applyFault(state.faultSet, c, "authorize", (status, retryAfter) =>
    errorPage(state, status === 429 ? 90055 : 90033, {}, cid, status, retryAfterHeader(retryAfter)),
  );
  if (injected) return injected;
  const segment = c.req.param("tenant")!;
  if (!tenantKind(state, segment)) return errorPage(state, 90002, { tenant: segment }, cid);
  if (!params.client_id) return errorPage(state, 900144, { name: "client_id" }, cid);
  const client = state.app(params.client_id);
  if (!client) return errorPage(state, 700016, { clientId: params.client_id, tenant: state.tenantId }, cid);
  if (!params.redirect_uri) return errorPage(state, 900144, { name: "redirect_uri" }, cid);
  if (!redirectUriMatches(client.redirectUris, params.redirect_uri)) {
    return errorPage(state, 50011, { redirectUri: params.redirect_uri, clientId: client.clientId }, cid);
  }
  const scopes = splitScopes(params.scope);
  const resourceError = checkResourceParam(state, params.resource, scopes);
  if (resourceError) return errorPage(state, resourceError, {}, cid);
  if (params.response_mode && !["query", "fragment", "form_post"].includes(params.response_mode)) {
    params.response_mode = "query";
  }
  if (params.response_type !== "code") {
    if (!params.response_type) return errorRedirect(state, params, 900144, { name: "response_type" });
    return errorRedirect(state, params, 700054, {});
  }
  if (scopes.length === 0) return errorRedirect(state, params, 900144, { name: "scope" });
  const parsed = parseScopes(state, client, scopes);
  if ("code" in parsed) return errorRedirect(state, params, parsed.code, parsed.params);
  if (params.code_challenge_method && !["S256", "plain"].includes(params.code_challenge_method)) {
    return errorRedirect(state, params, 9002313, {});
  }

  const pid = randomId(24);
  const pending: PendingAuthorization = { params, tenantSegment: segment, createdAt: state.now() };
  state.pending.set(pid, pending);
  if (state.pending.size > MAX_PENDING) state.pending.delete(state.pending.keys().next().value!);
  const session = getSession(state, c);
  const sessionUser = session ? state.user(session.oid) : undefined;
  const hint = params.login_hint?.toLowerCase();
  const hintMatches = !hint || sessionUser?.userPrincipalName.toLowerCase() === hint;
  const prompt = params.prompt;

  if (prompt === "none") {
    state.pending.delete(pid);
    if (!session || !sessionUser || !hintMatches) return errorRedirect(state, params, 50058, {});
    if (consentNeeded(state, client, sessionUser, params.scope).length > 0) {
      return errorRedirect(
        state,
        params,
        65001,
        { clientId: client.clientId, appName: client.displayName },
        { error: "consent_required" },
      );
    }
    return issueCode(state, pending, sessionUser, session.sid, session.authTime);
  }
  if (
    prompt === "login" ||
    prompt === "select_account" ||
    demandsStepUp(params.claims) ||
    !session ||
    !sessionUser ||
    !hintMatches
  ) {
    return signInPage(state, pid, pending);
  }
  return afterSignIn(state, pid, pending, sessionUser, session.sid, session.authTime);
}

/**
 * The pages a person sees. `secure`: served over HTTPS (Entra's cookie attributes) or on the
 * plain-HTTP loopback listener (the same cookie without `Secure`, so the browser keeps it).
 */
export function mountAuthorize(app: Hono, state: State, { secure }: { secure: boolean }): void {
  app.get("/:tenant/oauth2/v2.0/authorize", (c) => authorize(state, c));
  app.post("/:tenant/oauth2/v2.0/authorize", (c) => authorize(state, c));

  app.post("/:tenant/login", async (c) => {
    const form = await readForm(c);
    const pending = state.pending.get(form.ctx ?? "");
    if (!pending) return errorPage(state, 9002313, {});
    const user = state.user(form.login ?? "");
    if (!user)
      return signInPage(
        state,
        form.ctx,
        pending,
        "This account doesn't exist in the tenant. Pick one below.",
      );
    const s = startSession(state, user, secure);
    if (demandsStepUp(pending.params.claims)) state.mfaSessions.add(s.sid);
    const res = afterSignIn(state, form.ctx, pending, user, s.sid, s.authTime);
    res.headers.append("Set-Cookie", s.cookie);
    return res;
  });

  app.post("/:tenant/Consent/Set", async (c) => {
    const form = await readForm(c);
    const pending = state.pending.get(form.ctx ?? "");
    if (!pending?.oid) return errorPage(state, 9002313, {});
    const user = state.user(pending.oid)!;
    if (form.acceptConsent !== "true") {
      return errorRedirect(state, pending.params, 65004, {}, { error_subcode: "cancel" });
    }
    const client = state.app(pending.params.client_id)!;
    const parsed = parseScopes(state, client, splitScopes(pending.params.scope));
    if (!("code" in parsed)) {
      const toGrant = missingConsent(state, client, user.id, parsed);
      state.consents.grant(user.id, client.clientId, toGrant);
    }
    const session = getSession(state, c);
    const sid = session?.sid ?? randomUUID();
    return issueCode(state, pending, user, sid, session?.authTime ?? Math.floor(state.now() / 1000));
  });

  app.get("/:tenant/oauth2/v2.0/logout", (c) => {
    const session = getSession(state, c);
    if (session) state.sessions.delete(session.sid);
    const post = c.req.query("post_logout_redirect_uri");
    const headers: Record<string, string> = {
      "Set-Cookie": `${COOKIE}=; Path=/; Max-Age=0; ${cookieAttributes(secure)}`,
    };
    if (post) return new Response(null, { status: 302, headers: { ...headers, Location: post } });
    const res = page("signedout", "Signed out", "<h1>You signed out of your account</h1>");
    res.headers.append("Set-Cookie", headers["Set-Cookie"]);
    return res;
  });
}
