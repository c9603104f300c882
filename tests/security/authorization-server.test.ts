/**
 * The adversarial suite: one test per threat in SECURITY.md, black box over HTTP against a running
 * proxy-mode stack (Entra emulator, Azurite, the server as a child process), like the conformance suite.
 * Each attack is made the way an attacker would make it, and each test checks what the victim or the
 * operator would notice. Threats the conformance suite already covers are referenced from SECURITY.md
 * instead of repeated here.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { signIn } from "@entra-mcp/emulator/signin";
import {
  ADELE,
  assertRejected,
  assertServing,
  assertWorks,
  authorizeUrl,
  browse,
  type Client,
  CookieJar,
  callTool,
  codeRequest,
  consentAnswer,
  expectErrorPage,
  expectOAuthError,
  fetchFrom,
  isEntraAuthorize,
  nextCaller,
  openConsent,
  parseConsent,
  pkce,
  postConsent,
  REDIRECT,
  refresh,
  registerClient,
  registerRaw,
  SCOPE,
  signInTokens,
  type Tokens,
  tokenRaw,
} from "@entra-mcp/testing/authorization-server";
import { type ServerProcess, type Stack, startServer, startStack } from "@entra-mcp/testing/stack";
import { base64url, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from "jose";
import { LOCAL_REGISTRATION_BUDGET } from "../../api/src/services.ts";

const OPS_CLIENT = { client_id: "ops-app", client_name: "Operator's app", redirect_uris: [REDIRECT] };

let stack: Stack;
let client: Client;
/** Serves client metadata documents on loopback and counts the requests that reach it. */
let docs: http.Server;
let docsUrl: string;
let docRequests = 0;

before(async () => {
  docs = http.createServer((req, res) => {
    docRequests++;
    const id = `${docsUrl}${req.url}`;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ client_id: id, client_name: "Doc client", redirect_uris: [REDIRECT] }));
  });
  await new Promise<void>((r) => docs.listen(0, "127.0.0.1", r));
  docsUrl = `http://127.0.0.1:${(docs.address() as net.AddressInfo).port}`;
  stack = await startStack({
    authMode: "proxy",
    env: { OAUTH_CLIENTS: JSON.stringify([OPS_CLIENT]), CIMD_ALLOW_LOOPBACK_HTTP: "true" },
  });
  client = await registerClient(stack);
});
after(async () => {
  await stack?.stop();
  docs?.close();
});

/**
 * The browser leg for `jar` up to Entra's authorize URL (consent approved when shown, "Stay signed in"
 * as the page offers it unless `staySignedIn` is false).
 */
async function toEntra(jar: CookieJar, url: string, staySignedIn?: boolean): Promise<string> {
  let res = await browse(jar, url);
  if (res.status === 200) {
    const page = parseConsent(await res.text(), res);
    res = await postConsent(stack, jar, consentAnswer(page, "approve", { staySignedIn }));
  }
  const location = res.headers.get("location");
  assert.ok(isEntraAuthorize(stack, location), `expected Entra, got ${res.status} ${location}`);
  return location as string;
}

/** Completes a sign-in that reached Entra: the user signs in, the browser follows the callback. */
async function finish(jar: CookieJar, entra: string): Promise<URL> {
  const callback = await signIn(entra, { user: ADELE });
  const res = await browse(jar, callback);
  assert.equal(res.status, 302, await res.text());
  return new URL(res.headers.get("location") as string);
}

describe("open redirect (RFC 9700 §4.11.2)", () => {
  it("a request error for a self-registered client is a page naming its host, never a 302 to it", async () => {
    const evil = await registerClient(stack, { redirect_uris: ["https://evil.example/landing"] });
    const cases: Record<string, string>[] = [{ response_type: "token" }, { code_challenge_method: "plain" }];
    for (const extra of cases) {
      const res = await fetch(authorizeUrl(stack, { client: evil, extra }), { redirect: "manual" });
      const html = await expectErrorPage(res, 400);
      assert.match(html, /Return to evil\.example/);
    }
    await assertServing(stack);
  });

  it("a pre-registered client's redirect URI, which the operator vouches for, gets the error by redirect", async () => {
    const res = await fetch(
      authorizeUrl(stack, { client: OPS_CLIENT, state: "s1", extra: { response_type: "token" } }),
      { redirect: "manual" },
    );
    assert.equal(res.status, 302);
    const back = new URL(res.headers.get("location") as string);
    assert.equal(back.searchParams.get("error"), "unsupported_response_type");
    assert.equal(back.searchParams.get("state"), "s1");
  });
});

describe("limits keyed on an address the caller cannot set (RFC 6585 §4)", () => {
  it("rotating X-Forwarded-For and X-Real-IP from one connection does not buy more registrations", async () => {
    const from = nextCaller();
    let accepted = 0;
    let refused: Response | undefined;
    // This server's URL is on loopback, so the local budget applies (per caller, per minute).
    const budget = LOCAL_REGISTRATION_BUDGET.perCaller[0].limit;
    for (let i = 0; i <= 2 * budget && !refused; i++) {
      const res = await fetchFrom(from, `${stack.server.url}/register`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-forwarded-for": `198.51.100.${i}`,
          "x-real-ip": `203.0.113.${i}`,
        },
        body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }),
      });
      if (res.status === 201) accepted++;
      else refused = res;
    }
    assert.ok(refused, `all ${accepted} registrations were accepted`);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    assert.ok(accepted <= 2 * budget, `${accepted} accepted`);
    // Everyone else is still served.
    await registerClient(stack, { client_name: "Bystander" });
  });

  it("/authorize: a caller writing pending sign-ins in a loop gets 429; another caller still gets the consent page", async () => {
    const from = nextCaller();
    const url = authorizeUrl(stack, { client });
    let refused: Response | undefined;
    let served = 0;
    for (let i = 0; i < 121 && !refused; i++) {
      const res = await fetchFrom(from, url);
      if (res.status === 200) served++;
      else refused = res;
    }
    assert.ok(refused, `${served} pending sign-ins were written`);
    assert.equal(refused.status, 429);
    assert.match(refused.headers.get("content-type") ?? "", /text\/html/);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    await openConsent(new CookieJar(), authorizeUrl(stack, { client }));
  });

  it("/token: a caller over its budget gets 429 with Retry-After; another caller is served", async () => {
    const from = nextCaller();
    let refused: Response | undefined;
    for (let i = 0; i < 241 && !refused; i++) {
      const res = await fetchFrom(from, `${stack.server.url}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=refresh_token&client_id=x&refresh_token=guess",
      });
      if (res.status === 429) refused = res;
    }
    assert.ok(refused, "no 429 after 240 token requests");
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    // Another caller gets an answer, not a 429 (client "x" was never registered).
    await expectOAuthError(
      await tokenRaw(stack, { grant_type: "refresh_token", client_id: "x" }),
      401,
      "invalid_client",
    );
  });

  it("client metadata documents: at most 10 fetches a minute per host, the rest refused with 429", async () => {
    const before = docRequests;
    let throttled = 0;
    for (let i = 0; i < 25; i++) {
      const id = `${docsUrl}/client-${i}-${Date.now()}`;
      const res = await fetchFrom(
        nextCaller(),
        authorizeUrl(stack, { client: { client_id: id, redirect_uris: [REDIRECT] } }),
      );
      if (res.status === 429) throttled++;
      else assert.equal(res.status, 200);
    }
    const fetched = docRequests - before;
    assert.ok(fetched <= 20, `${fetched} documents fetched`);
    assert.ok(throttled >= 5, `${throttled} throttled`);
  });

  it("caps: a state over 1024 characters or client metadata over 8 KiB is a 400, never a 500", async () => {
    const long = await fetch(authorizeUrl(stack, { client, state: "s".repeat(5000) }), {
      redirect: "manual",
    });
    await expectErrorPage(long, 400);
    const huge = await registerRaw(stack, {
      redirect_uris: Array.from({ length: 20 }, (_, i) => `https://app.example/${"p".repeat(1900)}/${i}`),
      token_endpoint_auth_method: "none",
    });
    await expectOAuthError(huge, 400, "invalid_client_metadata");
    await assertServing(stack);
  });
});

describe('refresh tokens only as approved: "Stay signed in" (RFC 6749 §1.5, §6; RFC 7591 §2; MCP consent per client)', () => {
  /** Whether the page offers "Stay signed in", and ticked. */
  const offersStay = (html: string) =>
    /<input type="checkbox" name="stay_signed_in" value="yes" checked>/.test(html) &&
    /Stay signed in/.test(html);
  const scopeOf = (t: Tokens) => t.scope.split(" ").sort();

  it("a client registered for refresh_token that does not ask for offline_access: offered Stay signed in, gets a refresh token that refreshes", async () => {
    const jar = new CookieJar();
    const page = await openConsent(jar, authorizeUrl(stack, { client, scope: SCOPE }));
    assert.ok(offersStay(page.html), "the consent page offers Stay signed in, ticked");
    const t = await signInTokens(stack, client, { jar: new CookieJar(), scope: SCOPE });
    assert.equal(typeof t.refresh_token, "string");
    // RFC 6749 §5.1: the scope granted, which differs from the one asked for.
    assert.deepEqual(scopeOf(t), ["offline_access", SCOPE].sort());
    await assertWorks(stack, t.access_token);
    const next = await refresh(stack, client, t.refresh_token);
    assert.equal(next.status, 200, await next.clone().text());
    await assertWorks(stack, ((await next.json()) as Tokens).access_token);
  });

  it("asking for offline_access explicitly works as before", async () => {
    const t = await signInTokens(stack, client, { jar: new CookieJar(), scope: `${SCOPE} offline_access` });
    assert.equal(typeof t.refresh_token, "string");
    assert.deepEqual(scopeOf(t), ["offline_access", SCOPE].sort());
  });

  it("Stay signed in unticked: no refresh token, whether or not the client asked, and the scope says so", async () => {
    for (const scope of [SCOPE, `${SCOPE} offline_access`]) {
      const t = await signInTokens(stack, client, { jar: new CookieJar(), scope, staySignedIn: false });
      assert.equal(t.refresh_token, undefined, scope);
      assert.equal(t.scope, SCOPE);
      await assertWorks(stack, t.access_token);
    }
  });

  it("a client not registered for refresh_token: no refresh token even when it asks for offline_access, and the page does not offer one", async () => {
    // Registered for authorization_code only, and registered without grant_types (RFC 7591 §2 default).
    for (const grants of [{ grant_types: ["authorization_code"] }, { grant_types: undefined }]) {
      const codeOnly = await registerClient(stack, grants);
      const p = pkce();
      const jar = new CookieJar();
      const page = await openConsent(
        jar,
        authorizeUrl(stack, { client: codeOnly, scope: `${SCOPE} offline_access`, pkce: p }),
      );
      assert.doesNotMatch(page.html, /Stay signed in|stay_signed_in/);
      // A "Stay signed in" field added to the form changes nothing.
      const entra = await postConsent(stack, jar, {
        ...consentAnswer(page, "approve"),
        stay_signed_in: "yes",
      });
      const back = await finish(jar, entra.headers.get("location") as string);
      const code = back.searchParams.get("code") as string;
      const res = await tokenRaw(stack, codeRequest(stack, codeOnly, code, p.verifier));
      assert.equal(res.status, 200, await res.clone().text());
      const t = (await res.json()) as Tokens;
      assert.equal(t.refresh_token, undefined);
      assert.equal(t.scope, SCOPE);
      await assertWorks(stack, t.access_token);
    }
  });

  it("remembered consent covers what was approved: another redirect URI shows the page again", async () => {
    const two = await registerClient(stack, { redirect_uris: [REDIRECT, "http://127.0.0.1:53683/other"] });
    const jar = new CookieJar();
    await toEntra(jar, authorizeUrl(stack, { client: two, scope: SCOPE }));
    // The same request again, or with offline_access (already approved with Stay signed in): remembered.
    for (const scope of [SCOPE, `${SCOPE} offline_access`]) {
      const again = await browse(jar, authorizeUrl(stack, { client: two, scope }));
      assert.equal(again.status, 302, scope);
      assert.ok(isEntraAuthorize(stack, again.headers.get("location")));
    }
    // The other redirect URI: asked again.
    await openConsent(
      jar,
      authorizeUrl(stack, { client: two, scope: SCOPE, redirectUri: two.redirect_uris[1] }),
    );
  });

  it("remembered without Stay signed in: the same request goes on without a refresh token; asking for offline_access shows the page again", async () => {
    const one = await registerClient(stack);
    const jar = new CookieJar();
    await toEntra(jar, authorizeUrl(stack, { client: one, scope: SCOPE }), false);
    const p = pkce();
    const again = await browse(jar, authorizeUrl(stack, { client: one, scope: SCOPE, pkce: p }));
    assert.equal(again.status, 302, "remembered");
    const back = await finish(jar, again.headers.get("location") as string);
    const res = await tokenRaw(
      stack,
      codeRequest(stack, one, back.searchParams.get("code") as string, p.verifier),
    );
    const t = (await res.json()) as Tokens;
    assert.equal(t.refresh_token, undefined, "the remembered choice: no refresh token");
    assert.equal(t.scope, SCOPE);
    // More than was approved: asked again, with Stay signed in offered.
    const more = await openConsent(
      jar,
      authorizeUrl(stack, { client: one, scope: `${SCOPE} offline_access` }),
    );
    assert.ok(offersStay(more.html));
  });

  it("an approval covers what the page offered: a client that adds the refresh_token grant to its metadata later is asked again, not widened silently", async () => {
    // The client's own metadata document host (its own fetch budget), served `no-store`: a change shows at once.
    let grantTypes: string[] | undefined;
    const host = http.createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.setHeader("cache-control", "no-store");
      const id = `http://127.0.0.1:${(host.address() as net.AddressInfo).port}${req.url}`;
      res.end(JSON.stringify({ client_id: id, redirect_uris: [REDIRECT], grant_types: grantTypes }));
    });
    await new Promise<void>((r) => host.listen(0, "127.0.0.1", r));
    const doc = {
      client_id: `http://127.0.0.1:${(host.address() as net.AddressInfo).port}/client`,
      redirect_uris: [REDIRECT],
    };
    try {
      const jar = new CookieJar();
      const first = await openConsent(jar, authorizeUrl(stack, { client: doc, scope: SCOPE }));
      assert.doesNotMatch(first.html, /Stay signed in/);
      await toEntra(jar, authorizeUrl(stack, { client: doc, scope: SCOPE }));
      const again = await browse(jar, authorizeUrl(stack, { client: doc, scope: SCOPE }));
      assert.equal(again.status, 302, "remembered while nothing changed");
      grantTypes = ["authorization_code", "refresh_token"];
      const wider = await openConsent(jar, authorizeUrl(stack, { client: doc, scope: SCOPE }));
      assert.ok(offersStay(wider.html), "asked again, with Stay signed in offered");
    } finally {
      host.closeAllConnections();
      host.close();
    }
  });
});

describe("the proxy grant ends when Entra ends the sign-in (RFC 6749 §5.2)", () => {
  it("Entra refuses the stored refresh token (sessions revoked, AADSTS50173): the tool says reconnect, then 401, and the refresh token is refused", async () => {
    // 60 s is inside the server's five-minute renewal margin: every use of the Entra token renews it.
    stack.emulator.options.accessTokenLifetime = 60;
    try {
      const t = await signInTokens(stack, client, { jar: new CookieJar() });
      await assertWorks(stack, t.access_token);
      stack.emulator.revokeSignInSessions(String(decodeJwt(t.access_token).oid));
      const tool = await callTool(stack, t.access_token, "get_graph_user_details");
      assert.equal(tool.status, 200);
      assert.match(tool.text, /"isError":\s*true/);
      assert.match(tool.text, /sign in again/i);
      // The grant is gone: the next request is a 401 the client answers by signing in again.
      await assertRejected(stack, t.access_token);
      await expectOAuthError(await refresh(stack, client, t.refresh_token), 400, "invalid_grant");
    } finally {
      stack.emulator.options.accessTokenLifetime = undefined;
    }
  });

  it("a proxy refresh renews the Entra sign-in when it is due, so it never outlives it", async () => {
    stack.emulator.options.accessTokenLifetime = 60;
    try {
      const t = await signInTokens(stack, client, { jar: new CookieJar() });
      const before = stack.emulator.counts()["token.refresh_token"] ?? 0;
      const ok = await refresh(stack, client, t.refresh_token);
      assert.equal(ok.status, 200, await ok.clone().text());
      assert.ok((stack.emulator.counts()["token.refresh_token"] ?? 0) > before, "Entra was not asked");
      const t1 = (await ok.json()) as Tokens;
      stack.emulator.revokeSignInSessions(String(decodeJwt(t.access_token).oid));
      await expectOAuthError(await refresh(stack, client, t1.refresh_token), 400, "invalid_grant");
      // Whatever else (a tool that never calls Graph) used the grant stops too.
      await assertRejected(stack, t1.access_token);
    } finally {
      stack.emulator.options.accessTokenLifetime = undefined;
    }
  });
});

describe("sign-ins in one browser do not overwrite each other", () => {
  it("two clients signing in at once in one browser both complete, in either order", async () => {
    const other = await registerClient(stack, { client_name: "Second client" });
    const jar = new CookieJar();
    const first = await toEntra(jar, authorizeUrl(stack, { client }));
    // Another sign-in starts in the same browser (a second client, or an attacker's link).
    const second = await toEntra(jar, authorizeUrl(stack, { client: other }));
    assert.ok((await finish(jar, second)).searchParams.get("code"));
    assert.ok((await finish(jar, first)).searchParams.get("code"));
  });
});

describe("size and shape of input", () => {
  it("413 closes the connection: the unread body can never be taken for the next request", async () => {
    const { port } = new URL(stack.server.url);
    const socket = net.connect(Number(port), "127.0.0.1");
    await new Promise<void>((r) => socket.once("connect", () => r()));
    let text = "";
    socket.on("data", (d) => {
      text += d.toString("latin1");
    });
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.write(
      "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
        `Content-Length: ${4 * 1024 * 1024}\r\n\r\n${"a".repeat(64 * 1024)}`,
    );
    await Promise.race([
      closed,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`still open: ${text.slice(0, 300)}`)), 5000),
      ),
    ]);
    assert.match(text, /^HTTP\/1\.1 413/);
    assert.match(text, /\r\nconnection: close\r\n/i);
    await assertServing(stack);
  });

  it("a redirect URI with a wildcard or pattern host is refused at registration", async () => {
    for (const uri of ["https://*.evil.example/cb", "https://evil.example*/cb", "https://a_b.example/cb"]) {
      await expectOAuthError(
        await registerRaw(stack, { redirect_uris: [uri], token_endpoint_auth_method: "none" }),
        400,
        "invalid_redirect_uri",
      );
    }
  });
});

describe("tokens", () => {
  let tokens: Tokens;
  before(async () => {
    tokens = await signInTokens(stack, client, { jar: new CookieJar() });
  });

  it("the grant key is not readable from the access token", async () => {
    const { gk } = decodeJwt(tokens.access_token);
    const parts = String(gk).split(".");
    assert.equal(parts[0], "v1");
    // Sealed (AES-GCM: 32 key bytes + a 16-byte tag), not the raw 32-byte key.
    assert.equal(base64url.decode(parts[2]).length, 48);
  });

  it("/revoke without the client's id → 401 invalid_client, and the token keeps working (RFC 7009 §2.1)", async () => {
    const res = await fetch(`${stack.server.url}/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: tokens.refresh_token }),
    });
    await expectOAuthError(res, 401, "invalid_client");
    await assertWorks(stack, tokens.access_token);
  });

  it("algorithm confusion: alg none, HS256 keyed with the published public key → 401", async () => {
    const claims = decodeJwt(tokens.access_token);
    const { kid } = decodeProtectedHeader(tokens.access_token);
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    const none = `${enc({ alg: "none", typ: "at+jwt", kid })}.${enc(claims)}.`;
    await assertRejected(stack, none);
    const jwks = (await (await fetch(`${stack.server.url}/.well-known/jwks.json`)).json()) as {
      keys: object[];
    };
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid })
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    await assertRejected(stack, hs);
  });

  it("a foreign key, with or without this server's kid, and its own JWK in the header → 401", async () => {
    const claims = decodeJwt(tokens.access_token);
    const { kid } = decodeProtectedHeader(tokens.access_token);
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwk = await exportJWK(publicKey);
    for (const header of [{ kid }, { kid: "attacker" }, { jwk }]) {
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", typ: "at+jwt", ...header })
        .sign(privateKey);
      await assertRejected(stack, forged);
    }
  });

  it("token-type confusion: a refresh token or an Entra token as the bearer → 401; an access token as a refresh token → invalid_grant", async () => {
    await assertRejected(stack, tokens.refresh_token);
    await assertRejected(stack, await stack.emulator.mintAccessToken());
    await expectOAuthError(await refresh(stack, client, tokens.access_token), 400, "invalid_grant");
    // A code is not a refresh token either.
    const p = pkce();
    await expectOAuthError(
      await tokenRaw(stack, codeRequest(stack, client, tokens.refresh_token, p.verifier)),
      400,
      "invalid_grant",
    );
  });

  it("XSS: markup in a client's name, id, state or redirect path never reaches a page unescaped; no page runs script", async () => {
    const marker = `"'><script>alert(1)</script><img src=x onerror=alert(2)>`;
    const named = await registerClient(stack, {
      client_name: marker,
      redirect_uris: [`http://127.0.0.1:53682/cb${encodeURIComponent(marker)}`],
    });
    const pages = [
      await fetch(authorizeUrl(stack, { client: named, state: marker }), { redirect: "manual" }),
      await fetch(authorizeUrl(stack, { client: named, state: marker, extra: { response_type: "token" } }), {
        redirect: "manual",
      }),
      await fetch(`${stack.server.url}/authorize?client_id=${encodeURIComponent(marker)}`),
      await fetch(`${stack.server.url}/oauth/callback?state=${encodeURIComponent(marker)}&code=x`),
    ];
    for (const res of pages) {
      const html = await res.text();
      assert.match(res.headers.get("content-type") ?? "", /text\/html/);
      assert.ok(!/<script|<img/i.test(html), html.slice(0, 500));
      const csp = res.headers.get("content-security-policy") ?? "";
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /script-src/);
    }
  });

  it("SSRF: Azure's WireServer and the other host-internal addresses are refused before any request", async () => {
    for (const host of ["168.63.129.16", "169.254.169.254", "100.100.100.200", "[fd00:ec2::254]"]) {
      const id = `https://${host}/client.json`;
      const res = await fetch(authorizeUrl(stack, { client: { client_id: id, redirect_uris: [REDIRECT] } }), {
        redirect: "manual",
      });
      const html = await expectErrorPage(res, 400);
      assert.match(html, /Unknown application/);
    }
  });
});

describe("refresh retries across two instances on one store (RFC 9700 §4.14)", () => {
  let second: ServerProcess;
  before(async () => {
    second = await startServer(stack.env, { quiet: true });
  });
  after(async () => {
    await second?.stop();
  });

  it("the same refresh token at both instances at once: one answer, byte for byte, and one chain", async () => {
    const t = await signInTokens(stack, client, { jar: new CookieJar() });
    const at = (url: string) =>
      fetch(`${url}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "refresh_token",
          client_id: client.client_id,
          refresh_token: t.refresh_token,
        }),
      });
    const [a, b] = await Promise.all([at(stack.server.url), at(`http://127.0.0.1:${second.port}`)]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const body = await a.text();
    assert.equal(await b.text(), body);
    // A retry at either instance within the window gets the same answer too.
    assert.equal(await (await at(`http://127.0.0.1:${second.port}`)).text(), body);
    const next = await refresh(stack, client, (JSON.parse(body) as Tokens).refresh_token);
    assert.equal(next.status, 200, await next.clone().text());
  });
});
