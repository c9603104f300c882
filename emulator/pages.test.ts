// The pages a person sees, on the plain-HTTP loopback listener: discovery sends browsers there while
// SDK endpoints stay on HTTPS; the account picker is one click per account and survives double
// clicks and repeated picks; the session cookie works over HTTP.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { apiScope, form, startTrusted, tokenUrl } from "./fixtures/helpers.ts";
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

const discovery = async () =>
  (await (await fetch(`${em.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;

function authorizeUrlFrom(endpoint: string, params: Record<string, string>) {
  const u = new URL(endpoint);
  u.search = new URLSearchParams({ response_type: "code", ...params }).toString();
  return u.toString();
}

/** GET then POST by hand, the way a browser submits the picker's button. */
async function pickerPage(url: string, cookie?: string) {
  const res = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: "manual" });
  return { res, html: await res.text() };
}
const ctxOf = (html: string) => html.match(/name="ctx" value="([^"]+)"/)![1];
const post = (path: string, fields: Record<string, string>) =>
  fetch(`${em.browserAuthorityHost}${path}`, { ...form(fields), redirect: "manual" });

describe("browser pages on plain HTTP", () => {
  test("discovery: authorization_endpoint and end_session_endpoint on the HTTP origin; the rest on HTTPS", async () => {
    assert.match(em.browserAuthorityHost, /^http:\/\/127\.0\.0\.1:\d+$/);
    const doc = await discovery();
    assert.equal(
      doc.authorization_endpoint,
      `${em.browserAuthorityHost}/${em.tenantId}/oauth2/v2.0/authorize`,
    );
    assert.equal(doc.end_session_endpoint, `${em.browserAuthorityHost}/${em.tenantId}/oauth2/v2.0/logout`);
    assert.equal(doc.issuer, em.issuer);
    assert.ok(doc.issuer.startsWith("https://"));
    assert.equal(doc.token_endpoint, tokenUrl(em));
    assert.ok(doc.jwks_uri.startsWith(`${em.authorityHost}/`));
    const v1 = (await (
      await fetch(`${em.authorityHost}/${em.tenantId}/.well-known/openid-configuration`)
    ).json()) as Record<string, string>;
    assert.equal(v1.authorization_endpoint, `${em.browserAuthorityHost}/${em.tenantId}/oauth2/authorize`);
    assert.ok(v1.token_endpoint.startsWith("https://"));
  });

  test("a sign-in through the advertised authorize URL redeems at the HTTPS token endpoint", async () => {
    const { verifier, challenge } = pkce();
    const redirectUri = "http://127.0.0.1:53111/callback";
    const back = await signIn(
      authorizeUrlFrom((await discovery()).authorization_endpoint, {
        client_id: em.publicClient.clientId,
        redirect_uri: redirectUri,
        scope: `${apiScope(em)} openid offline_access`,
        code_challenge: challenge,
        code_challenge_method: "S256",
        state: "st",
      }),
      { user: adele },
    );
    assert.equal(back.origin, "http://127.0.0.1:53111");
    assert.equal(back.searchParams.get("state"), "st");
    const res = await fetch(
      tokenUrl(em),
      form({
        client_id: em.publicClient.clientId,
        grant_type: "authorization_code",
        code: back.searchParams.get("code")!,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }),
    );
    assert.equal(res.status, 200);
  });

  test("SDK endpoints are not served over plain HTTP", async () => {
    for (const path of [
      `/${em.tenantId}/oauth2/v2.0/token`,
      `/${em.tenantId}/v2.0/.well-known/openid-configuration`,
      `/${em.tenantId}/discovery/v2.0/keys`,
    ]) {
      const res = await fetch(`${em.browserAuthorityHost}${path}`, {
        method: path.endsWith("token") ? "POST" : "GET",
      });
      assert.equal(res.status, 404, path);
      await res.body?.cancel();
    }
  });

  test("the HTTP session cookie has no Secure flag and gives SSO; logout ends it", async () => {
    const params = {
      client_id: em.publicClient.clientId,
      redirect_uri: "http://localhost/callback",
      scope: `${apiScope(em)} openid`,
    };
    const authorize = authorizeUrlFrom(
      `${em.browserAuthorityHost}/${em.tenantId}/oauth2/v2.0/authorize`,
      params,
    );
    const { html } = await pickerPage(authorize);
    const login = await post(`/${em.tenantId}/login`, { ctx: ctxOf(html), login: adele });
    assert.equal(login.status, 302);
    const setCookie = login.headers.get("set-cookie")!;
    assert.match(setCookie, /^ESTSAUTH=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
    const cookie = setCookie.split(";")[0];
    const sso = await pickerPage(authorize, cookie);
    assert.equal(sso.res.status, 302, "signed in already: straight back to the client");
    assert.ok(new URL(sso.res.headers.get("location")!).searchParams.get("code"));
    const out = await fetch(`${em.browserAuthorityHost}/${em.tenantId}/oauth2/v2.0/logout`, {
      headers: { cookie },
      redirect: "manual",
    });
    assert.match(out.headers.get("set-cookie")!, /^ESTSAUTH=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax$/);
    assert.equal((await pickerPage(authorize, cookie)).res.status, 200, "the picker again");
  });
});

describe("Pick an account", () => {
  const params = () => ({
    client_id: em.publicClient.clientId,
    redirect_uri: "http://127.0.0.1/callback",
    scope: `${apiScope(em)} openid`,
    prompt: "select_account",
    state: "p1",
  });

  test("one button per account, nothing to select first; login_hint puts that account first", async () => {
    const authorize = authorizeUrlFrom(
      `${em.browserAuthorityHost}/${em.tenantId}/oauth2/v2.0/authorize`,
      params(),
    );
    const { html } = await pickerPage(authorize);
    assert.ok(!html.includes('type="radio"'));
    const buttons = [
      ...html.matchAll(/<button type="submit" class="tile" name="login" value="([^"]+)"/g),
    ].map((m) => m[1]);
    assert.deepEqual(buttons, [adele, alex]);
    const hinted = await pickerPage(
      authorizeUrlFrom(`${em.browserAuthorityHost}/${em.tenantId}/oauth2/v2.0/authorize`, {
        ...params(),
        login_hint: alex,
      }),
    );
    assert.match(hinted.html, new RegExp(`name="login" value="${alex}" autofocus>`));
    assert.ok(hinted.html.indexOf(alex) < hinted.html.indexOf(adele));
  });

  test("clicking twice, or another account after that, still signs in (no error page)", async () => {
    const authorize = authorizeUrlFrom(
      `${em.browserAuthorityHost}/${em.tenantId}/oauth2/v2.0/authorize`,
      params(),
    );
    const ctx = ctxOf((await pickerPage(authorize)).html);
    const codes = new Set<string>();
    for (const login of [adele, adele, alex]) {
      const res = await post(`/${em.tenantId}/login`, { ctx, login });
      assert.equal(res.status, 302, login);
      const location = new URL(res.headers.get("location")!);
      assert.equal(location.searchParams.get("state"), "p1");
      codes.add(location.searchParams.get("code")!);
    }
    assert.equal(codes.size, 3, "every click got its own code");
  });

  test("double-clicking Accept on the consent page ends at the client both times", async () => {
    const authorize = authorizeUrlFrom(`${em.browserAuthorityHost}/${em.tenantId}/oauth2/v2.0/authorize`, {
      ...params(),
      prompt: "consent",
    });
    const ctx = ctxOf((await pickerPage(authorize)).html);
    const consent = await post(`/${em.tenantId}/login`, { ctx, login: adele });
    assert.match(await consent.text(), /content="consent"/);
    for (let i = 0; i < 2; i++) {
      const accepted = await post(`/${em.tenantId}/Consent/Set`, { ctx, acceptConsent: "true" });
      assert.equal(accepted.status, 302);
      assert.ok(new URL(accepted.headers.get("location")!).searchParams.get("code"));
    }
  });
});
