import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  apiScope,
  authorizeUrl,
  claimsOf,
  codeFor,
  form,
  miToken,
  startTrusted,
  tokenUrl,
  userToken,
} from "./fixtures/helpers.ts";
import type { Emulator } from "./index.ts";
import { pkce } from "./login.ts";
import { signIn } from "./signin.ts";

let em: Emulator;
let adele: string;
let alex: string;
before(async () => {
  em = await startTrusted();
  adele = em.users.find((u) => u.consented)!.upn;
  alex = em.users.find((u) => !u.consented)!.upn;
});
after(() => em.stop());

const AADSTS_TAIL =
  / Trace ID: [0-9a-f-]{36} Correlation ID: [0-9a-f-]{36} Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/;

function assertEnvelope(body: Record<string, unknown>, code: number, error: string) {
  assert.equal(body.error, error);
  assert.deepEqual(body.error_codes, [code]);
  assert.match(String(body.error_description), new RegExp(`^AADSTS${code}: `));
  assert.match(String(body.error_description), AADSTS_TAIL);
  assert.match(String(body.timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  assert.ok(String(body.error_description).includes(`Trace ID: ${body.trace_id}`));
}

describe("discovery and JWKS", () => {
  test("tenant document has Entra's fields and leaves out the absent ones", async () => {
    const res = await fetch(`${em.issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "max-age=86400, private");
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc.issuer, em.issuer);
    assert.equal(doc.token_endpoint, tokenUrl(em));
    assert.equal(doc.jwks_uri, `${em.authorityHost}/${em.tenantId}/discovery/v2.0/keys`);
    assert.deepEqual(doc.scopes_supported, ["openid", "profile", "email", "offline_access"]);
    assert.equal(doc.tenant_region_scope, "WW");
    for (const absent of [
      "code_challenge_methods_supported",
      "registration_endpoint",
      "revocation_endpoint",
      "introspection_endpoint",
      "grant_types_supported",
    ]) {
      assert.ok(!(absent in doc), absent);
    }
    assert.equal(Object.keys(doc)[0], "token_endpoint");
  });

  test("/organizations keeps the {tenantid} issuer template; RFC 8414 forms are JSON 404s", async () => {
    const doc = (await (
      await fetch(`${em.authorityHost}/organizations/v2.0/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    assert.equal(doc.issuer, `${em.authorityHost}/{tenantid}/v2.0`);
    assert.equal(doc.tenant_region_scope, null);
    assert.equal(doc.token_endpoint, `${em.authorityHost}/organizations/oauth2/v2.0/token`);
    for (const path of [
      `/.well-known/oauth-authorization-server/${em.tenantId}/v2.0`,
      `/.well-known/openid-configuration/${em.tenantId}/v2.0`,
    ]) {
      const res = await fetch(`${em.authorityHost}${path}`);
      assert.equal(res.status, 404);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
      await res.json();
    }
  });

  test("JWKS: kid = x5t (SHA-1 of x5c), RSA, issuer template; rotation keeps the old key", async () => {
    const keys = async () =>
      (
        (await (await fetch(`${em.authorityHost}/${em.tenantId}/discovery/v2.0/keys`)).json()) as {
          keys: Record<string, string & string[]>[];
        }
      ).keys;
    const before = await keys();
    assert.equal(before.length, 1);
    const k = before[0];
    assert.equal(k.kty, "RSA");
    assert.equal(k.use, "sig");
    assert.equal(k.kid, k.x5t);
    assert.equal(k.kid.length, 27);
    const { createHash } = await import("node:crypto");
    assert.equal(createHash("sha1").update(Buffer.from(k.x5c[0], "base64")).digest("base64url"), k.kid);
    assert.equal(k.issuer, `${em.authorityHost}/{tenantid}/v2.0`);
    const rotated = await em.rotateSigningKey();
    const afterRotation = await keys();
    assert.deepEqual(
      afterRotation.map((x) => x.kid),
      [k.kid, rotated.kid],
    );
    const token = await em.mintAccessToken();
    assert.equal(JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString()).kid, rotated.kid);
  });

  test("unknown tenant answers AADSTS90002 as JSON", async () => {
    const res = await fetch(
      `${em.authorityHost}/00000000-1111-2222-3333-444444444444/v2.0/.well-known/openid-configuration`,
    );
    assert.equal(res.status, 400);
    assertEnvelope((await res.json()) as Record<string, unknown>, 90002, "invalid_tenant");
  });
});

describe("authorization code + PKCE", () => {
  test("full flow: redirect carries code, client_info, state; token response in Entra's order", async () => {
    const { code, verifier, redirectUri, back } = await codeFor(em, adele, {
      nonce: "n-123",
      client_info: "1",
    });
    assert.equal(back.origin, "http://127.0.0.1:53100");
    assert.equal(back.searchParams.get("state"), "s1");
    assert.ok(back.searchParams.get("session_state"));
    const info = JSON.parse(Buffer.from(back.searchParams.get("client_info")!, "base64url").toString());
    assert.equal(info.utid, em.tenantId);
    const res = await fetch(
      `${tokenUrl(em)}?client-request-id=abc`,
      form({
        client_id: em.publicClient.clientId,
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        scope: `${apiScope(em)} openid profile offline_access`,
        client_info: "1",
        "x-ms-lib-capability": "retry-after, h429",
      }),
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store, no-cache");
    const body = (await res.json()) as Record<string, string>;
    assert.deepEqual(Object.keys(body), [
      "token_type",
      "scope",
      "expires_in",
      "ext_expires_in",
      "access_token",
      "refresh_token",
      "id_token",
      "client_info",
    ]);
    assert.equal(body.scope, apiScope(em));
    const expiresIn = Number(body.expires_in);
    assert.ok(typeof body.expires_in === "number" && expiresIn >= 3600 && expiresIn <= 5400);
    const at = claimsOf(body.access_token);
    const user = em.users.find((u) => u.upn === adele)!;
    assert.equal(at.aud, em.apiApp.clientId);
    assert.equal(at.iss, em.issuer);
    assert.equal(at.scp, "user_impersonation");
    assert.equal(at.azp, em.publicClient.clientId);
    assert.equal(at.azpacr, "0");
    assert.equal(at.oid, user.oid);
    assert.equal(at.ver, "2.0");
    assert.notEqual(at.sub, user.oid);
    const header = JSON.parse(Buffer.from(body.access_token.split(".")[0], "base64url").toString());
    assert.deepEqual(Object.keys(header), ["typ", "alg", "kid"]);
    const id = claimsOf(body.id_token);
    assert.equal(id.aud, em.publicClient.clientId);
    assert.equal(id.nonce, "n-123");
    assert.equal(id.preferred_username, adele);
  });

  test("a code is single use (54005)", async () => {
    const { code, verifier, redirectUri } = await codeFor(em, adele);
    const redeem = () =>
      fetch(
        tokenUrl(em),
        form({
          client_id: em.publicClient.clientId,
          grant_type: "authorization_code",
          code,
          redirect_uri: redirectUri,
          code_verifier: verifier,
        }),
      );
    assert.equal((await redeem()).status, 200);
    const again = await redeem();
    assert.equal(again.status, 400);
    assertEnvelope((await again.json()) as Record<string, unknown>, 54005, "invalid_grant");
  });

  test("a wrong code_verifier fails (50148); a wrong redirect_uri fails (50011, 401)", async () => {
    const a = await codeFor(em, adele);
    const res = await fetch(
      tokenUrl(em),
      form({
        client_id: em.publicClient.clientId,
        grant_type: "authorization_code",
        code: a.code,
        redirect_uri: a.redirectUri,
        code_verifier: pkce().verifier,
      }),
    );
    assert.equal(res.status, 400);
    assertEnvelope((await res.json()) as Record<string, unknown>, 50148, "invalid_grant");
    const b = await codeFor(em, adele);
    const res2 = await fetch(
      tokenUrl(em),
      form({
        client_id: em.publicClient.clientId,
        grant_type: "authorization_code",
        code: b.code,
        redirect_uri: "http://127.0.0.1:53100/other",
        code_verifier: b.verifier,
      }),
    );
    assert.equal(res2.status, 401);
    assertEnvelope((await res2.json()) as Record<string, unknown>, 50011, "invalid_client");
  });

  test("an expired code fails (70008)", async () => {
    let now = Date.now();
    const clocked = await startTrusted({ now: () => now });
    try {
      const { code, verifier, redirectUri } = await codeFor(clocked, adele);
      now += 11 * 60_000;
      const res = await fetch(
        tokenUrl(clocked),
        form({
          client_id: clocked.publicClient.clientId,
          grant_type: "authorization_code",
          code,
          redirect_uri: redirectUri,
          code_verifier: verifier,
        }),
      );
      assertEnvelope((await res.json()) as Record<string, unknown>, 70008, "invalid_grant");
    } finally {
      await clocked.stop();
    }
  });

  test("resource must equal the scopes' App ID URI: 9010010 page at /authorize, invalid_target at /token", async () => {
    const { challenge } = pkce();
    const base = {
      client_id: em.publicClient.clientId,
      redirect_uri: "http://127.0.0.1:53100/callback",
      scope: `${apiScope(em)} openid offline_access`,
      code_challenge: challenge,
      code_challenge_method: "S256",
    };
    await assert.rejects(
      signIn(authorizeUrl(em, { ...base, resource: "http://127.0.0.1:7071/api/mcp" }), { user: adele }),
      /AADSTS9010010/,
    );
    await assert.rejects(
      signIn(authorizeUrl(em, { ...base, resource: `${em.apiApp.appIdUri}/` }), { user: adele }),
      /AADSTS9010010/,
    );
    const ok = await signIn(authorizeUrl(em, { ...base, resource: em.apiApp.appIdUri }), { user: adele });
    assert.ok(ok.searchParams.get("code"));
    const { code, verifier, redirectUri } = await codeFor(em, adele);
    const res = await fetch(
      tokenUrl(em),
      form({
        client_id: em.publicClient.clientId,
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        resource: "http://127.0.0.1:7071/api/mcp",
      }),
    );
    assert.equal(res.status, 400);
    assertEnvelope((await res.json()) as Record<string, unknown>, 9010010, "invalid_target");
  });

  test("unknown client (700016) and redirect mismatch (50011) stay on the error page", async () => {
    await assert.rejects(
      signIn(
        authorizeUrl(em, {
          client_id: "11111111-2222-3333-4444-555555555555",
          redirect_uri: "http://127.0.0.1:1/",
          scope: "openid",
        }),
        { user: adele },
      ),
      /AADSTS700016/,
    );
    const res = await fetch(
      authorizeUrl(em, {
        client_id: em.publicClient.clientId,
        redirect_uri: "https://evil.example/cb",
        scope: "openid",
      }),
      { redirect: "manual" },
    );
    assert.equal(res.headers.get("location"), null);
    assert.match(await res.text(), /AADSTS50011/);
  });

  test("prompt=none without a session redirects login_required; with the session cookie it is silent", async () => {
    const params = {
      client_id: em.publicClient.clientId,
      redirect_uri: "http://127.0.0.1:53100/callback",
      scope: `${apiScope(em)} openid`,
      state: "z",
      prompt: "none",
    };
    const back = await signIn(authorizeUrl(em, params), { user: adele });
    assert.equal(back.searchParams.get("error"), "login_required");
    assert.equal(back.searchParams.get("state"), "z");
    assert.match(back.searchParams.get("error_description")!, /^AADSTS50058:/);
    // Sign in once to get ESTSAUTH, then reuse it.
    const first = await fetch(authorizeUrl(em, { ...params, prompt: "login" }));
    const ctx = (await first.text()).match(/name="ctx" value="([^"]+)"/)![1];
    const login = await fetch(`${em.authorityHost}/${em.tenantId}/login`, {
      ...form({ ctx, login: adele }),
      redirect: "manual",
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    const silent = await signIn(authorizeUrl(em, params), { user: adele, cookie });
    assert.ok(silent.searchParams.get("code"));
  });

  test("form_post response mode returns the fields to the redirect URI", async () => {
    const back = await signIn(
      authorizeUrl(em, {
        client_id: em.publicClient.clientId,
        redirect_uri: "http://localhost:4000/callback",
        scope: `${apiScope(em)} openid`,
        response_mode: "form_post",
        state: "fp",
      }),
      { user: adele },
    );
    assert.equal(back.origin, "http://localhost:4000");
    assert.equal(back.searchParams.get("state"), "fp");
    assert.ok(back.searchParams.get("code"));
  });
});

describe("consent", () => {
  const graphConsentUrl = (redirectUri: string) =>
    authorizeUrl(em, {
      client_id: em.apiApp.clientId,
      redirect_uri: redirectUri,
      scope: "https://graph.microsoft.com/User.Read openid profile",
      state: "c",
    });

  test("a user who has not consented sees the consent page; Cancel → access_denied, Accept → consent recorded", async () => {
    const redirectUri = "http://127.0.0.1:7999/oauth/callback";
    em.apiApp.addRedirectUri(redirectUri);
    const user = em.users.find((u) => u.upn === alex)!;
    const cancelled = await signIn(graphConsentUrl(redirectUri), { user: alex, consent: false });
    assert.equal(cancelled.searchParams.get("error"), "access_denied");
    assert.match(cancelled.searchParams.get("error_description")!, /^AADSTS65004:/);
    const accepted = await signIn(graphConsentUrl(redirectUri), { user: alex, consent: true });
    assert.ok(accepted.searchParams.get("code"));
    const { userAssertion } = { userAssertion: (await userToken(em, alex)).access_token };
    const { obo } = await import("./fixtures/helpers.ts");
    // The link granted User.Read only: an exchange for exactly that permission works.
    const r = await obo(em, userAssertion, "https://graph.microsoft.com/User.Read");
    assert.equal(r.status, 200);
    em.revokeConsent(user.oid, em.apiApp.clientId);
    const r2 = await obo(em, userAssertion, "https://graph.microsoft.com/User.Read");
    assert.equal(r2.status, 400);
    assert.deepEqual(r2.body.error_codes, [65001]);
    assert.equal(r2.body.suberror, "consent_required");
  });
});

describe("proxy mode: the API app redeems its own code with the managed identity's token", () => {
  test("confidential auth code + FIC client assertion; azpacr 2; no consent page for its own scope", async () => {
    const redirectUri = "http://127.0.0.1:7071/oauth/callback";
    em.apiApp.addRedirectUri(redirectUri);
    const { verifier, challenge } = pkce();
    const scope = `${apiScope(em)} openid profile offline_access`;
    const back = await signIn(
      authorizeUrl(em, {
        client_id: em.apiApp.clientId,
        redirect_uri: redirectUri,
        scope,
        code_challenge: challenge,
        code_challenge_method: "S256",
        state: "px",
      }),
      { user: alex, consent: false },
    );
    const code = back.searchParams.get("code");
    assert.ok(code, back.toString());
    const res = await fetch(
      tokenUrl(em),
      form({
        client_id: em.apiApp.clientId,
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        scope,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: await miToken(em),
      }),
    );
    assert.equal(res.status, 200);
    const at = claimsOf(((await res.json()) as Record<string, string>).access_token);
    assert.equal(at.azp, em.apiApp.clientId);
    assert.equal(at.azpacr, "2");
    assert.equal(at.aud, em.apiApp.clientId);
  });
});

describe("refresh tokens", () => {
  test("each refresh returns a new RT; the old one keeps working unless strict rotation is on", async () => {
    const first = await userToken(em, adele);
    const refresh = (rt: string) =>
      fetch(
        tokenUrl(em),
        form({
          client_id: em.publicClient.clientId,
          grant_type: "refresh_token",
          refresh_token: rt,
          scope: `${apiScope(em)} openid profile offline_access`,
        }),
      );
    const r1 = (await (await refresh(first.refresh_token)).json()) as Record<string, string>;
    assert.ok(r1.access_token);
    assert.notEqual(r1.refresh_token, first.refresh_token);
    assert.equal((await refresh(first.refresh_token)).status, 200);
    em.options.strictRefreshTokenRotation = true;
    try {
      const res = await refresh(first.refresh_token);
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as Record<string, string>).error, "invalid_grant");
    } finally {
      em.options.strictRefreshTokenRotation = false;
    }
  });
});

describe("client authentication", () => {
  const oboForm = async (extra: Record<string, string>) =>
    fetch(
      tokenUrl(em),
      form({
        client_id: em.apiApp.clientId,
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        requested_token_use: "on_behalf_of",
        scope: "https://graph.microsoft.com/.default",
        assertion: await em.mintAccessToken(),
        ...extra,
      }),
    );

  test("the API app has no secrets (7000215) and needs a credential (7000218), both 401", async () => {
    const secret = await oboForm({ client_secret: "s3cret" });
    assert.equal(secret.status, 401);
    assertEnvelope((await secret.json()) as Record<string, unknown>, 7000215, "invalid_client");
    const none = await oboForm({});
    assert.equal(none.status, 401);
    assertEnvelope((await none.json()) as Record<string, unknown>, 7000218, "invalid_client");
  });

  test("a public client must not authenticate (700025)", async () => {
    const res = await fetch(
      tokenUrl(em),
      form({
        client_id: em.publicClient.clientId,
        grant_type: "refresh_token",
        refresh_token: "x",
        client_secret: "y",
      }),
    );
    assert.equal(res.status, 401);
    assertEnvelope((await res.json()) as Record<string, unknown>, 700025, "invalid_client");
  });

  test("FIC assertion checks: subject (700213), audience (700212), lifetime (700024), user token (700229)", async () => {
    const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    const mi = await miToken(em);
    const c = claimsOf(mi);
    const cases: [Record<string, unknown>, number][] = [
      [{ sub: String(c.sub).toUpperCase() }, 700213],
      [{ aud: "api://SomethingElse" }, 700212],
      [{ exp: Math.floor(Date.now() / 1000) - 60 }, 700024],
      [{ scp: "user_impersonation", idtyp: undefined }, 700229],
    ];
    for (const [override, code] of cases) {
      const appOnly = {
        scp: undefined,
        name: undefined,
        preferred_username: undefined,
        sid: undefined,
        ...c,
      };
      const assertion = await em.mintAccessToken({ ...appOnly, ...override });
      const res = await oboForm({ client_assertion_type: assertionType, client_assertion: assertion });
      assert.equal(res.status, 401, String(code));
      assertEnvelope((await res.json()) as Record<string, unknown>, code, "invalid_client");
    }
    const ok = await oboForm({ client_assertion_type: assertionType, client_assertion: mi });
    assert.equal(ok.status, 200);
  });
});

describe("app roles", () => {
  test("a user assigned the API app's MCP.Admin role gets `roles` in its tokens; others get none", async () => {
    const before = claimsOf((await userToken(em, alex)).access_token);
    assert.equal(before.roles, undefined, "no roles claim without an assignment");
    em.assignAppRole(alex, "MCP.Admin");
    try {
      const t = await userToken(em, alex);
      assert.deepEqual(claimsOf(t.access_token).roles, ["MCP.Admin"]);
      assert.equal(claimsOf((await userToken(em, adele)).access_token).roles, undefined);
      // Refreshing keeps issuing it, as the assignment still stands.
      const res = await fetch(
        tokenUrl(em),
        form({
          client_id: em.publicClient.clientId,
          grant_type: "refresh_token",
          refresh_token: t.refresh_token,
          scope: `${apiScope(em)} offline_access`,
        }),
      );
      assert.deepEqual(claimsOf(((await res.json()) as { access_token: string }).access_token).roles, [
        "MCP.Admin",
      ]);
      assert.throws(() => em.assignAppRole(alex, "Nope.Role"), /declares no app role/);
    } finally {
      em.removeAppRole(alex);
    }
    assert.equal(claimsOf((await userToken(em, alex)).access_token).roles, undefined, "removed");
  });
});
