// /oauth2/v2.0/token: authorization_code, refresh_token, OBO (jwt-bearer) and client_credentials,
// with client authentication by federated credential (managed identity token) only. Reference §5, §8.4.
import { createHash, randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import { tenantKind } from "./discovery.ts";
import { entraTime7 } from "./errors.ts";
import { applyFault } from "./faults.ts";
import { entraErrorResponse, entraFaultResponse, json, NO_STORE, readForm, sleep } from "./http.ts";
import { decodeJwt, randomId, verifyJwt } from "./keys.ts";
import {
  checkResourceParam,
  grantedNames,
  missingConsent,
  type ParsedScopes,
  parseScopes,
  singleResource,
  splitScopes,
} from "./scopes.ts";
import type { State } from "./state.ts";
import {
  type AppRegistration,
  fullScope,
  GRAPH_APP_ID,
  type Resource,
  TOKEN_EXCHANGE_APP_ID,
  TOKEN_EXCHANGE_AUDIENCE,
  type User,
} from "./tenant.ts";

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CODE_LIFETIME_MS = 10 * 60_000;
const RT_INACTIVITY_MS = 90 * 86400_000;

type Fail = { code: number; params: Record<string, string> };
const fail = (code: number, params: Record<string, string> = {}): Fail => ({ code, params });
const isFail = (x: unknown): x is Fail => typeof x === "object" && x !== null && "code" in x && "params" in x;

const GRANT_KIND: Record<string, string> = {
  authorization_code: "token.authorization_code",
  refresh_token: "token.refresh_token",
  [JWT_BEARER]: "token.obo",
  client_credentials: "token.client_credentials",
};

interface Req {
  state: State;
  form: Record<string, string>;
  client: AppRegistration;
  /** "0" public, "2" client assertion. */
  acr: string;
}

function basicAuth(c: Context): { id?: string; secret?: string } {
  const h = c.req.header("authorization");
  if (!h?.toLowerCase().startsWith("basic ")) return {};
  const raw = Buffer.from(h.slice(6).trim(), "base64").toString("utf8");
  const i = raw.indexOf(":");
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return i < 0 ? { id: dec(raw) } : { id: dec(raw.slice(0, i)), secret: dec(raw.slice(i + 1)) };
}

/** Validates a client_assertion against the app's federated identity credentials. */
async function verifyFic(state: State, app: AppRegistration, assertion: string): Promise<Fail | null> {
  const jwt = decodeJwt(assertion);
  if (!jwt) return fail(50027);
  const { iss, sub, aud, exp, nbf } = jwt.payload as Record<string, unknown>;
  const byIssuer = app.federatedCredentials.filter((f) => f.issuer === iss);
  if (byIssuer.length === 0) return fail(700211, { iss: String(iss) });
  const bad = await verifyJwt(jwt, state.keys);
  if (bad) {
    const detail =
      bad === "kid"
        ? `[Reason - Key was not found., Thumbprint of key used by client: '${String(jwt.header.kid)}']`
        : `[Reason - The provided signature value did not match the expected signature value.]`;
    return fail(700027, { detail });
  }
  const now = state.now();
  const expMs = typeof exp === "number" ? exp * 1000 : 0;
  const nbfMs = typeof nbf === "number" ? nbf * 1000 : 0;
  if (expMs <= now || nbfMs > now) {
    return fail(700024, { now: entraTime7(now), nbf: entraTime7(nbfMs), exp: entraTime7(expMs) });
  }
  const payload = jwt.payload as Record<string, unknown>;
  if (payload.scp !== undefined || payload.idtyp === "user") return fail(700229);
  const bySubject = byIssuer.filter((f) => f.subject === sub);
  if (bySubject.length === 0) return fail(700213, { sub: String(sub) });
  const audience = aud === TOKEN_EXCHANGE_APP_ID ? TOKEN_EXCHANGE_AUDIENCE : String(aud);
  if (!bySubject.some((f) => f.audiences.includes(audience))) return fail(700212, { aud: String(aud) });
  return null;
}

async function authenticate(
  state: State,
  c: Context,
  form: Record<string, string>,
): Promise<Fail | { client: AppRegistration; acr: string }> {
  const basic = basicAuth(c);
  const clientId = form.client_id || basic.id;
  if (!clientId) return fail(900144, { name: "client_id" });
  const client = state.app(clientId);
  if (!client) return fail(700016, { clientId, tenant: state.tenantId });
  const secret = form.client_secret || basic.secret;
  const assertion = form.client_assertion;
  if (client.kind === "public") {
    if (secret || assertion) return fail(700025);
    return { client, acr: "0" };
  }
  if (secret) return fail(7000215);
  if (!assertion) return fail(7000218);
  if (form.client_assertion_type !== ASSERTION_TYPE) return fail(900144, { name: "client_assertion_type" });
  const bad = await verifyFic(state, client, assertion);
  return bad ?? { client, acr: "2" };
}

function graphAudience(parsed: ParsedScopes): string {
  const ref = parsed.refs.find((r) => r.resource.appId === GRAPH_APP_ID);
  return ref?.resourceUri === GRAPH_APP_ID ? GRAPH_APP_ID : "https://graph.microsoft.com";
}

function idToken(
  state: State,
  client: AppRegistration,
  user: User,
  oidc: string[],
  sid: string,
  nonce?: string,
) {
  const iat = Math.floor(state.now() / 1000);
  const claims: Record<string, unknown> = {
    aud: client.clientId,
    iss: state.issuer,
    iat,
    nbf: iat,
    exp: iat + 3600,
    aio: randomId(48),
  };
  if (oidc.includes("email") && user.mail) claims.email = user.mail;
  if (oidc.includes("profile")) claims.name = user.displayName;
  if (nonce !== undefined) claims.nonce = nonce;
  if (oidc.includes("profile"))
    Object.assign(claims, { oid: user.id, preferred_username: user.userPrincipalName });
  // The client's own app roles assigned to the user are in its ID token too.
  const roles = state.appRoles.of(user.id, client);
  Object.assign(claims, {
    rh: `1.${randomId(24)}.`,
    ...(roles.length ? { roles } : {}),
    sid,
    sub: state.pairwiseSub(user.id, client.clientId),
    tid: state.tenantId,
    uti: randomId(16),
    ver: "2.0",
  });
  return state.sign(claims);
}

/** Issues the delegated token set for `user` (shared by code, refresh and OBO). */
async function userTokens(
  r: Req,
  user: User,
  scopes: string[],
  opts: { sid: string; nonce?: string; onBehalfOf?: boolean; clientCapable?: boolean },
): Promise<Fail | Record<string, unknown>> {
  const { state, client, form } = r;
  const parsed = parseScopes(state, client, scopes);
  if ("code" in parsed) return fail(parsed.code, parsed.params);
  const single = singleResource(parsed);
  if (isFail(single)) return single;
  if (opts.onBehalfOf && !single) return fail(70011, { scope: scopes.join(" ") });
  const missing = missingConsent(state, client, user.id, parsed);
  if (missing.length > 0) return fail(65001, { clientId: client.clientId, appName: client.displayName });
  const resource: Resource = single ?? state.resources[0];
  const names = single ? grantedNames(state, client, user.id, parsed, resource) : [];
  const lifetime = state.accessTokenLifetime();
  let accessToken: string;
  if (resource.tokenVersion === "v2") {
    const claims = state.apiAccessClaims(user, client.clientId, r.acr, names.join(" "), opts.sid, lifetime);
    accessToken = await state.sign(claims);
  } else {
    const scp = [
      ...names,
      ...["openid", "profile", "email"].filter((s) => parsed.oidc.includes(s) || opts.onBehalfOf),
    ];
    const claims = state.graphAccessClaims(
      user,
      graphAudience(parsed),
      client.clientId,
      r.acr,
      scp.join(" "),
      lifetime,
    );
    // A CAE-capable client (the `cp1` capability in its claims request) gets `xms_cc`, and Graph may challenge it.
    accessToken = await state.signGraph(opts.clientCapable ? { ...claims, xms_cc: ["cp1"] } : claims);
  }
  const responseScopes = names.map((n) => fullScope(resource, n));
  for (const ref of parsed.refs)
    if (ref.name === ".default") responseScopes.push(fullScope(resource, ".default"));
  const body: Record<string, unknown> = {
    token_type: "Bearer",
    scope: (single ? [...new Set(responseScopes)] : parsed.oidc.filter((s) => s !== "offline_access")).join(
      " ",
    ),
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: accessToken,
  };
  if (parsed.oidc.includes("offline_access")) {
    const rt = `1.${randomId(96)}`;
    const now = state.now();
    state.refreshTokens.set(rt, {
      clientId: client.clientId,
      scopes,
      oid: user.id,
      sid: opts.sid,
      issuedAt: now,
      lastUsed: now,
      used: false,
      revoked: false,
    });
    body.refresh_token = rt;
  }
  if (parsed.oidc.includes("openid"))
    body.id_token = await idToken(state, client, user, parsed.oidc, opts.sid, opts.nonce);
  if (form.client_info === "1") body.client_info = state.clientInfo(user.id);
  return body;
}

async function authorizationCode(r: Req): Promise<Fail | Record<string, unknown>> {
  const { state, form, client } = r;
  if (!form.code) return fail(900144, { name: "code" });
  const rec = state.codes.get(form.code);
  if (!rec) return fail(9002313);
  if (rec.used) return fail(54005);
  if (state.now() - rec.issuedAt > CODE_LIFETIME_MS) return fail(70008);
  if (rec.clientId !== client.clientId)
    return fail(70000, { detail: "The code was issued to a different client." });
  rec.used = true;
  if (form.redirect_uri !== rec.redirectUri) {
    return fail(50011, { redirectUri: form.redirect_uri ?? "", clientId: client.clientId });
  }
  if (rec.codeChallenge) {
    const verifier = form.code_verifier ?? "";
    const computed =
      rec.codeChallengeMethod === "S256"
        ? createHash("sha256").update(verifier).digest("base64url")
        : verifier;
    if (!verifier || computed !== rec.codeChallenge) return fail(50148);
  }
  const scopes = form.scope ? splitScopes(form.scope) : rec.scopes;
  const resourceError = checkResourceParam(state, form.resource, scopes);
  if (resourceError) return fail(resourceError);
  const user = state.user(rec.oid)!;
  return userTokens(r, user, scopes, { sid: rec.sid, nonce: rec.nonce });
}

async function refreshToken(r: Req): Promise<Fail | Record<string, unknown>> {
  const { state, form, client } = r;
  if (!form.refresh_token) return fail(900144, { name: "refresh_token" });
  const rec = state.refreshTokens.get(form.refresh_token);
  if (!rec) return fail(9002313);
  if (rec.clientId !== client.clientId)
    return fail(70000, { detail: "The refresh token was issued to a different client." });
  if (rec.sessionsRevokedAt !== undefined)
    return fail(50173, { issued: entraTime7(rec.issuedAt), validFrom: entraTime7(rec.sessionsRevokedAt) });
  if (rec.revoked || (rec.used && state.options.strictRefreshTokenRotation)) {
    return fail(70000, { detail: "The refresh token has already been redeemed or revoked." });
  }
  if (state.now() - rec.lastUsed > RT_INACTIVITY_MS)
    return fail(700082, { issued: entraTime7(rec.issuedAt) });
  const validFrom = state.tokensValidFrom.get(rec.oid);
  if (validFrom !== undefined && rec.issuedAt < validFrom) {
    return fail(50173, { issued: entraTime7(rec.issuedAt), validFrom: entraTime7(validFrom) });
  }
  rec.used = true;
  rec.lastUsed = state.now();
  const scopes = form.scope ? splitScopes(form.scope) : rec.scopes;
  const resourceError = checkResourceParam(state, form.resource, scopes);
  if (resourceError) return fail(resourceError);
  const user = state.user(rec.oid);
  if (!user) return fail(70000);
  return userTokens(r, user, scopes, { sid: rec.sid });
}

async function onBehalfOf(r: Req): Promise<Fail | Record<string, unknown>> {
  const { state, form, client } = r;
  if (form.requested_token_use !== "on_behalf_of") return fail(900144, { name: "requested_token_use" });
  const injected = state.faults.obo.shift();
  if (injected !== undefined) {
    const now = state.now();
    return fail(injected, {
      clientId: client.clientId,
      appName: client.displayName,
      resource: GRAPH_APP_ID,
      now: entraTime7(now),
      exp: entraTime7(now - 60_000),
      aud: "00000000-0000-0000-0000-000000000000",
      reason: "Key was not found.",
      issued: entraTime7(now - 91 * 86400_000),
      scope: form.scope ?? "",
      tenant: state.tenantId,
    });
  }
  if (!form.assertion) return fail(900144, { name: "assertion" });
  const jwt = decodeJwt(form.assertion);
  if (!jwt) return fail(50027);
  const bad = await verifyJwt(jwt, state.keys);
  if (bad === "kid") {
    return fail(50013, {
      reason: `Key was not found., Thumbprint of key used by client: '${String(jwt.header.kid)}'`,
    });
  }
  if (bad === "alg")
    return fail(50013, {
      reason: `The token is not signed with a supported algorithm ('${String(jwt.header.alg)}').`,
    });
  if (bad)
    return fail(50013, {
      reason: "The provided signature value did not match the expected signature value.",
    });
  const p = jwt.payload as Record<string, unknown>;
  if (p.iss !== state.issuer && p.iss !== state.v1Issuer) {
    return fail(50013, { reason: `The issuer '${String(p.iss)}' of the assertion is not trusted.` });
  }
  const now = state.now();
  const exp = typeof p.exp === "number" ? p.exp * 1000 : 0;
  // Entra allows five minutes of clock skew on the assertion's `nbf`.
  if (exp <= now || (typeof p.nbf === "number" && p.nbf * 1000 > now + 300_000)) {
    return fail(500133, { now: entraTime7(now), exp: entraTime7(exp) });
  }
  const audOk = p.aud === client.clientId || (client.appIdUri !== undefined && p.aud === client.appIdUri);
  if (!audOk) return fail(500131, { aud: String(p.aud), clientId: client.clientId });
  if (p.scp === undefined && p.roles === undefined && p.idtyp !== "app") return fail(240002);
  if (p.scp === undefined || p.idtyp === "app") {
    // OBO is for user principals only; the exact Entra code for an app-only assertion is unverified.
    return fail(50013, { reason: "The assertion is an app-only token; on-behalf-of requires a user token." });
  }
  const user = state.user(String(p.oid));
  if (!user) return fail(70000, { detail: "The user in the assertion does not exist in the tenant." });
  // Per user, so a test can tell one exchange per user from several for one.
  state.count(`token.obo.${user.id}`);
  // CAE: the user's sessions were revoked after this assertion was issued.
  const validFrom = state.tokensValidFrom.get(user.id);
  const iat = typeof p.iat === "number" ? p.iat * 1000 : 0;
  if (validFrom !== undefined && iat < validFrom) {
    return fail(50173, { issued: entraTime7(iat), validFrom: entraTime7(validFrom) });
  }
  // Conditional Access on Graph: a session without MFA gets the policy's claims challenge, which only an
  // interactive sign-in (with those claims) can satisfy.
  const policy = state.conditionalAccess.get(user.id);
  const sid = typeof p.sid === "string" ? p.sid : randomUUID();
  const targetsGraph = splitScopes(form.scope).some(
    (s) => !s.startsWith("api://") && !/^[0-9a-f-]{36}\//.test(s),
  );
  if (policy && targetsGraph && !state.mfaSessions.has(sid)) {
    return fail(policy.code, { claims: policy.claims, resource: GRAPH_APP_ID });
  }
  return userTokens(r, user, splitScopes(form.scope), {
    sid,
    onBehalfOf: true,
    clientCapable: clientCapable(form.claims),
  });
}

async function clientCredentials(r: Req): Promise<Fail | Record<string, unknown>> {
  const { state, form, client } = r;
  const scopes = splitScopes(form.scope);
  if (scopes.length === 0) return fail(900144, { name: "scope" });
  for (const s of scopes) if (!s.endsWith("/.default")) return fail(1002012, { scope: s });
  const parsed = parseScopes(state, client, scopes);
  if ("code" in parsed) return fail(parsed.code, parsed.params);
  const resource = singleResource(parsed);
  if (isFail(resource)) return resource;
  if (!resource) return fail(1002012, { scope: form.scope ?? "" });
  const lifetime = 3599;
  const v1 = resource.tokenVersion === "v1";
  const aud = v1
    ? parsed.refs[0].resourceUri === GRAPH_APP_ID
      ? GRAPH_APP_ID
      : resource.uris[0]
    : resource.appId;
  const claims = state.appOnlyClaims(aud, client.clientId, client.objectId, v1, lifetime);
  const token = v1 ? await state.signGraph(claims) : await state.sign(claims);
  return { token_type: "Bearer", expires_in: lifetime, ext_expires_in: lifetime, access_token: token };
}

/** Whether a claims request declares the `cp1` client capability (`{"access_token":{"xms_cc":{"values":["cp1"]}}}`). */
function clientCapable(claims: string | undefined): boolean {
  if (!claims) return false;
  try {
    const values = (JSON.parse(claims) as { access_token?: { xms_cc?: { values?: unknown } } }).access_token
      ?.xms_cc?.values;
    return Array.isArray(values) && values.includes("cp1");
  } catch {
    return false;
  }
}

const HANDLERS: Record<string, (r: Req) => Promise<Fail | Record<string, unknown>>> = {
  authorization_code: authorizationCode,
  refresh_token: refreshToken,
  [JWT_BEARER]: onBehalfOf,
  client_credentials: clientCredentials,
};

export function mountToken(app: Hono, state: State): void {
  app.post("/:tenant/oauth2/v2.0/token", async (c) => {
    const form = await readForm(c);
    const grant = form.grant_type;
    const kind = GRANT_KIND[grant] ?? "token.other";
    state.count(kind);
    const delay = state.takeDelay(kind);
    if (delay) await sleep(delay);
    const cid = new URL(c.req.url).searchParams.get("client-request-id") ?? form["client-request-id"];
    const faulted = await applyFault(state.faultSet, c, kind, (status, retryAfter) =>
      entraFaultResponse(state, kind, status, retryAfter, cid),
    );
    if (faulted) return faulted;
    const error = (f: Fail) => entraErrorResponse(state, kind, f.code, f.params, cid);
    const segment = c.req.param("tenant");
    if (!tenantKind(state, segment)) return error(fail(90002, { tenant: segment }));
    if (!grant) return error(fail(900144, { name: "grant_type" }));
    const auth = await authenticate(state, c, form);
    if (isFail(auth)) return error(auth);
    const handler = HANDLERS[grant];
    if (!handler) return error(fail(70003));
    if (grant !== "authorization_code" && grant !== "refresh_token" && auth.client.kind === "public") {
      return error(fail(7000218));
    }
    const result = await handler({ state, form, client: auth.client, acr: auth.acr });
    if (isFail(result)) return error(result);
    return json(result, 200, {
      ...NO_STORE,
      "x-ms-request-id": randomUUID(),
      "x-ms-ests-server": "2.1.0 - emulator",
      "x-ms-clitelem": "1,0,0,,",
    });
  });
}
