/**
 * Conformance of the proxy's front door, black box over HTTP: discovery metadata (RFC 8414, RFC 9728,
 * RFC 6750 challenge), `/authorize` validation (RFC 6749 §4.1.2.1, OAuth 2.1 PKCE, RFC 8707, RFC 8252),
 * the consent step (MCP confused-deputy rule) and the Entra callback (`state`).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  assertServing,
  authorize,
  authorizeUrl,
  browse,
  type Client,
  CookieJar,
  codeRequest,
  expectErrorPage,
  expectRedirectError,
  isEntraAuthorize,
  openConsent,
  pkce,
  postConsent,
  REDIRECT,
  registerClient,
  SCOPE,
  toCallback,
  tokenRaw,
} from "@entra-mcp/testing/authorization-server";
import { type Stack, startStack } from "@entra-mcp/testing/stack";

let stack: Stack;
let client: Client;

before(async () => {
  stack = await startStack({ authMode: "proxy" });
  client = await registerClient(stack);
});
after(async () => {
  await stack?.stop();
});

describe("discovery metadata (RFC 8414 §2, §3.3; OIDC Discovery §3; RFC 9207 §3; CIMD; MCP 2026-07-28)", () => {
  for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
    it(`${path}: issuer is the public origin, S256 only, CIMD, DCR, revocation, iss, offline_access`, async () => {
      const res = await fetch(`${stack.server.url}${path}`);
      assert.equal(res.status, 200);
      const m = (await res.json()) as Record<string, unknown>;
      assert.equal(m.issuer, stack.server.url);
      assert.equal(m.authorization_endpoint, `${stack.server.url}/authorize`);
      assert.equal(m.token_endpoint, `${stack.server.url}/token`);
      assert.deepEqual(m.code_challenge_methods_supported, ["S256"]);
      assert.equal(m.client_id_metadata_document_supported, true);
      assert.equal(m.registration_endpoint, `${stack.server.url}/register`);
      assert.equal(m.revocation_endpoint, `${stack.server.url}/revoke`);
      assert.equal(m.authorization_response_iss_parameter_supported, true);
      assert.ok((m.scopes_supported as string[]).includes(SCOPE));
      assert.ok((m.scopes_supported as string[]).includes("offline_access"));
      assert.deepEqual(m.response_types_supported, ["code"]);
    });
  }
});

describe("protected resource metadata (RFC 9728 §3, §3.1; MCP 2026-07-28: no offline_access)", () => {
  for (const path of [
    "/.well-known/oauth-protected-resource/api/mcp",
    "/.well-known/oauth-protected-resource",
  ]) {
    it(`${path} names this server as the authorization server`, async () => {
      const res = await fetch(`${stack.server.url}${path}`);
      assert.equal(res.status, 200);
      const prm = (await res.json()) as Record<string, unknown>;
      assert.equal(prm.resource, stack.server.mcpUrl);
      assert.deepEqual(prm.authorization_servers, [stack.server.url]);
      assert.ok((prm.scopes_supported as string[]).includes(SCOPE));
      assert.ok(!(prm.scopes_supported as string[]).includes("offline_access"));
    });
  }
});

describe("401 challenge on /api/mcp (RFC 6750 §3, RFC 9728 §5.1)", () => {
  it("carries resource_metadata and a scope without offline_access", async () => {
    const res = await fetch(stack.server.mcpUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    assert.equal(res.status, 401);
    await res.body?.cancel();
    const header = res.headers.get("www-authenticate") ?? "";
    assert.match(header, /^Bearer /);
    const rm = /resource_metadata="([^"]+)"/.exec(header)?.[1];
    const scope = /scope="([^"]+)"/.exec(header)?.[1];
    assert.equal(rm, `${stack.server.url}/.well-known/oauth-protected-resource/api/mcp`);
    assert.ok(scope?.split(" ").includes(SCOPE), header);
    assert.ok(!scope?.split(" ").includes("offline_access"), header);
    const prm = await fetch(rm as string);
    assert.equal(prm.status, 200);
    await prm.body?.cancel();
  });
});

describe("/authorize: client and redirect URI checked before any redirect (RFC 6749 §4.1.2.1)", () => {
  it("unknown client_id: HTML error page, 400, no redirect", async () => {
    const url = authorizeUrl(stack, { client: { client_id: "dcr_nobody", redirect_uris: [REDIRECT] } });
    const html = await expectErrorPage(await fetch(url, { redirect: "manual" }));
    assert.match(html, /Unknown application/);
    await assertServing(stack);
  });

  it("an absurdly long client_id is an unknown client (error page), not a server error", async () => {
    const url = authorizeUrl(stack, {
      client: { client_id: `dcr_${"x".repeat(5000)}`, redirect_uris: [REDIRECT] },
    });
    const html = await expectErrorPage(await fetch(url, { redirect: "manual" }));
    assert.match(html, /Unknown application/);
    await assertServing(stack);
  });

  it("unregistered redirect_uri: HTML error page, 400, no redirect", async () => {
    const url = authorizeUrl(stack, { client, redirectUri: "https://attacker.example/cb" });
    const html = await expectErrorPage(await fetch(url, { redirect: "manual" }));
    assert.doesNotMatch(html, /attacker\.example/);
    await assertServing(stack);
  });

  it("a successful authorization response carries code, the client's state and iss (RFC 6749 §4.1.2, RFC 9207 §2)", async () => {
    const back = await authorize(stack, { client, state: "s-ok" });
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
    assert.ok(back.searchParams.get("code"));
    assert.equal(back.searchParams.get("state"), "s-ok");
    assert.equal(back.searchParams.get("iss"), stack.server.url);
    assert.equal(back.searchParams.get("error"), null);
  });

  it("loopback redirect with another port is accepted, end to end (RFC 8252 §7.3)", async () => {
    const otherPort = "http://127.0.0.1:40123/callback";
    const p = pkce();
    const back = await authorize(stack, { client, pkce: p, redirectUri: otherPort, state: "s-port" });
    assert.equal(`${back.origin}${back.pathname}`, otherPort);
    assert.equal(back.searchParams.get("state"), "s-port");
    const code = back.searchParams.get("code");
    assert.ok(code);
    const res = await tokenRaw(stack, {
      ...codeRequest(stack, client, code, p.verifier),
      redirect_uri: otherPort,
    });
    assert.equal(res.status, 200, await res.clone().text());
  });
});

describe("/authorize: request errors name the client's host and link back with error, state and iss, never an automatic redirect for a self-registered client (RFC 6749 §4.1.2.1, RFC 9207 §2, RFC 9700 §4.11.2)", () => {
  const cases: Array<[string, Record<string, string | null>, string]> = [
    [
      "missing PKCE → invalid_request (OAuth 2.1 §4.1.1)",
      { code_challenge: null, code_challenge_method: null },
      "invalid_request",
    ],
    [
      "code_challenge_method=plain → invalid_request (OAuth 2.1 §4.1.1)",
      { code_challenge_method: "plain" },
      "invalid_request",
    ],
    [
      "wrong resource → invalid_target (RFC 8707 §2)",
      { resource: "https://other.example/api/mcp" },
      "invalid_target",
    ],
    ["unknown scope → invalid_scope (RFC 6749 §4.1.2.1)", { scope: `${SCOPE} Mail.Send` }, "invalid_scope"],
  ];
  for (const [name, extra, error] of cases) {
    it(name, async () => {
      const state = `st-${error}`;
      const res = await fetch(authorizeUrl(stack, { client, state, extra }), { redirect: "manual" });
      const html = await expectErrorPage(res, 400);
      assert.match(html, /Return to 127\.0\.0\.1:53682/);
      const href = /<a [^>]*href="([^"]+)"/.exec(html)?.[1]?.replaceAll("&#38;", "&");
      assert.ok(href, html);
      const back = new URL(href);
      assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
      assert.equal(back.searchParams.get("error"), error);
      assert.equal(back.searchParams.get("state"), state);
      assert.equal(back.searchParams.get("iss"), stack.server.url);
      await assertServing(stack);
    });
  }
});

describe("consent page (MCP security best practices: confused deputy; RFC 6749 §10.12, §10.13; RFC 9700 §4.7, §4.16)", () => {
  it("shows the client name HTML-escaped and the redirect URI host; cannot be framed", async () => {
    const evil = await registerClient(stack, {
      client_name: "<script>alert(1)</script>",
      redirect_uris: ["https://client.example.org/oauth/cb"],
    });
    const page = await openConsent(new CookieJar(), authorizeUrl(stack, { client: evil }));
    assert.ok(!page.html.includes("<script>alert(1)</script>"), "the raw tag reached the page");
    assert.ok(!/<script/i.test(page.html), "a script element is on the page");
    assert.match(page.html, /(&lt;|&#60;|&#x3c;)script(&gt;|&#62;|&#x3e;)alert\(1\)/i);
    assert.match(page.html, /client\.example\.org/);
    const csp = page.res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.res.headers.get("x-frame-options"), "DENY");
  });

  it("Deny → redirect with error=access_denied, state and iss; no trip to Entra", async () => {
    const jar = new CookieJar();
    const page = await openConsent(jar, authorizeUrl(stack, { client, state: "s-deny" }));
    const res = await postConsent(stack, jar, {
      request_id: page.requestId,
      csrf_token: page.csrf,
      decision: "deny",
    });
    expectRedirectError(stack, res, REDIRECT, "access_denied", "s-deny");
  });

  it("a forged consent POST without or with a wrong CSRF token → 403, no redirect to Entra", async () => {
    const jar = new CookieJar();
    const page = await openConsent(jar, authorizeUrl(stack, { client }));
    for (const csrf of [undefined, "wrong-token-wrong-token-wrong"]) {
      const fields: Record<string, string> = { request_id: page.requestId, decision: "approve" };
      if (csrf) fields.csrf_token = csrf;
      const res = await postConsent(stack, jar, fields);
      await expectErrorPage(res, 403);
    }
    // The genuine form still works: the forgeries did not spend the request.
    const ok = await postConsent(stack, jar, {
      request_id: page.requestId,
      csrf_token: page.csrf,
      decision: "approve",
    });
    assert.equal(ok.status, 302);
    assert.ok(isEntraAuthorize(stack, ok.headers.get("location")));
  });

  it("a consent POST from another browser, with the page's request id and CSRF token → 403, no redirect to Entra", async () => {
    // The attacker opens the consent page for a request they started, then makes the victim's browser
    // (no Origin header, as some clients send none) submit it.
    const attacker = new CookieJar();
    const page = await openConsent(attacker, authorizeUrl(stack, { client }));
    const victim = new CookieJar();
    const forged = await postConsent(
      stack,
      victim,
      { request_id: page.requestId, csrf_token: page.csrf, decision: "approve" },
      null,
    );
    await expectErrorPage(forged, 403);
    // The browser that was shown the page can still answer it.
    const ok = await postConsent(stack, attacker, {
      request_id: page.requestId,
      csrf_token: page.csrf,
      decision: "approve",
    });
    assert.ok(isEntraAuthorize(stack, ok.headers.get("location")));
  });

  it("a consent POST with a foreign Origin → 403", async () => {
    const jar = new CookieJar();
    const page = await openConsent(jar, authorizeUrl(stack, { client }));
    const res = await postConsent(
      stack,
      jar,
      { request_id: page.requestId, csrf_token: page.csrf, decision: "approve" },
      "https://attacker.example",
    );
    await expectErrorPage(res, 403);
    const ok = await postConsent(stack, jar, {
      request_id: page.requestId,
      csrf_token: page.csrf,
      decision: "approve",
    });
    assert.ok(isEntraAuthorize(stack, ok.headers.get("location")));
  });

  it("the decision is remembered per browser and client, not for another client or another browser", async () => {
    const jar = new CookieJar();
    const first = await toCallback(stack, jar, authorizeUrl(stack, { client }));
    assert.equal(first.consentShown, true);
    // Same browser, same client: straight to Entra.
    const again = await browse(jar, authorizeUrl(stack, { client }));
    assert.equal(again.status, 302);
    assert.ok(isEntraAuthorize(stack, again.headers.get("location")));
    // Same browser, another client: asked again.
    const other = await registerClient(stack, { client_name: "Other client" });
    await openConsent(jar, authorizeUrl(stack, { client: other }));
    // Another browser, same client: asked again.
    await openConsent(new CookieJar(), authorizeUrl(stack, { client }));
  });
});

describe("Entra callback: state is single-use and bound to the browser (RFC 6749 §10.12, RFC 9700 §4.7)", () => {
  it("tampered or unknown state → error page, and the genuine callback still completes", async () => {
    const jar = new CookieJar();
    const { callback } = await toCallback(stack, jar, authorizeUrl(stack, { client, state: "s-cb1" }));
    const tampered = new URL(callback);
    tampered.searchParams.set("state", `${callback.searchParams.get("state")}x`);
    await expectErrorPage(await browse(jar, tampered));
    const unknown = new URL(callback);
    unknown.searchParams.set("state", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    await expectErrorPage(await browse(jar, unknown));
    const res = await browse(jar, callback);
    assert.equal(res.status, 302);
    const back = new URL(res.headers.get("location") as string);
    assert.equal(back.searchParams.get("state"), "s-cb1");
    assert.ok(back.searchParams.get("code"));
  });

  it("state replay (second use) → error page", async () => {
    const jar = new CookieJar();
    const { callback } = await toCallback(stack, jar, authorizeUrl(stack, { client }));
    const cookie = jar.header(callback) as string;
    const first = await browse(jar, callback);
    assert.equal(first.status, 302);
    assert.ok(new URL(first.headers.get("location") as string).searchParams.get("code"));
    await expectErrorPage(await browse(jar, callback));
    // Even with the transaction cookie restored, the state is spent server-side.
    await expectErrorPage(await fetch(callback, { redirect: "manual", headers: { cookie } }));
    await assertServing(stack);
  });

  it("callback from another browser (no transaction cookie) → error page", async () => {
    const jar = new CookieJar();
    const { callback } = await toCallback(stack, jar, authorizeUrl(stack, { client }));
    await expectErrorPage(await browse(new CookieJar(), callback));
    // The browser that started the sign-in can still finish it.
    const res = await browse(jar, callback);
    assert.equal(res.status, 302);
    assert.ok(new URL(res.headers.get("location") as string).searchParams.get("code"));
  });
});
