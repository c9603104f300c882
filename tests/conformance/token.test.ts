/**
 * Conformance of `/token` and `/revoke`, black box over HTTP: PKCE and code binding (RFC 7636 §4.6,
 * RFC 6749 §4.1.3, OAuth 2.1 §4.1.3), single-use codes with revocation on replay (RFC 6749 §4.1.2),
 * RFC 8707 targets, refresh-token rotation and reuse detection (OAuth 2.1 §4.3, RFC 9700 §4.14.2),
 * scope narrowing (RFC 6749 §6), revocation (RFC 7009), and what the table holds (token storage).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import {
  assertRejected,
  assertServing,
  assertWorks,
  authorize,
  type Client,
  CookieJar,
  codeRequest,
  expectOAuthError,
  pkce,
  REDIRECT,
  refresh,
  registerClient,
  SCOPE,
  signInTokens,
  type Tokens,
  tokenRaw,
} from "@entra-mcp/testing/authorization-server";
import { type Stack, startStack } from "@entra-mcp/testing/stack";
import { azuriteTableClient } from "../../api/src/store/azurite.ts";

let stack: Stack;
let client: Client;
let otherClient: Client;
/** One browser for the whole file: consent is given once per client, later sign-ins go straight to Entra. */
const jar = new CookieJar();
/** A grant that must survive every failed request in this file. */
let bystander: Tokens;

before(async () => {
  stack = await startStack({ authMode: "proxy" });
  client = await registerClient(stack);
  otherClient = await registerClient(stack, { client_name: "Other client" });
  // A client of its own: signing in again with `client` (as the tests below do) replaces its grant.
  bystander = await signInTokens(stack, await registerClient(stack, { client_name: "Bystander" }), { jar });
});
after(async () => {
  await stack?.stop();
});

/** Nothing else broke: the server answers and the bystander's grant still works. */
async function intact() {
  await assertServing(stack);
  await assertWorks(stack, bystander.access_token);
}

/** A fresh code for `client` and its PKCE verifier. */
async function freshCode(c = client) {
  const p = pkce();
  const back = await authorize(stack, { client: c, pkce: p, jar });
  const code = back.searchParams.get("code");
  assert.ok(code, back.toString());
  return { code, verifier: p.verifier };
}

describe("/token authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6, OAuth 2.1 §4.1.3)", () => {
  it("wrong code_verifier → invalid_grant (RFC 7636 §4.6)", async () => {
    const { code } = await freshCode();
    const res = await tokenRaw(stack, codeRequest(stack, client, code, pkce().verifier));
    await expectOAuthError(res, 400, "invalid_grant");
    await intact();
  });

  it("missing code_verifier → invalid_request (OAuth 2.1 §4.1.3)", async () => {
    const { code } = await freshCode();
    const res = await tokenRaw(stack, { ...codeRequest(stack, client, code, ""), code_verifier: undefined });
    await expectOAuthError(res, 400, "invalid_request");
    await intact();
  });

  it("wrong redirect_uri → invalid_grant (RFC 6749 §4.1.3)", async () => {
    const { code, verifier } = await freshCode();
    const res = await tokenRaw(stack, {
      ...codeRequest(stack, client, code, verifier),
      redirect_uri: "http://127.0.0.1:53682/other",
    });
    await expectOAuthError(res, 400, "invalid_grant");
    await intact();
  });

  it("redirect_uri left out of the authorization request may be left out at /token; if it was sent, it must be repeated (RFC 6749 §4.1.3)", async () => {
    const p = pkce();
    const back = await authorize(stack, { client, pkce: p, jar, extra: { redirect_uri: null } });
    const code = back.searchParams.get("code");
    assert.ok(code, back.toString());
    const ok = await tokenRaw(stack, {
      ...codeRequest(stack, client, code, p.verifier),
      redirect_uri: undefined,
    });
    assert.equal(ok.status, 200, await ok.clone().text());
    await ok.body?.cancel();

    const named = await freshCode();
    const res = await tokenRaw(stack, {
      ...codeRequest(stack, client, named.code, named.verifier),
      redirect_uri: undefined,
    });
    await expectOAuthError(res, 400, "invalid_grant");
    await intact();
  });

  it("code redeemed by another client → invalid_grant (RFC 6749 §4.1.3)", async () => {
    const { code, verifier } = await freshCode();
    const res = await tokenRaw(stack, {
      ...codeRequest(stack, client, code, verifier),
      client_id: otherClient.client_id,
    });
    await expectOAuthError(res, 400, "invalid_grant");
    await intact();
  });

  it("code replay → invalid_grant, and the tokens of the first redemption are revoked (RFC 6749 §4.1.2)", async () => {
    const { code, verifier } = await freshCode();
    const first = await tokenRaw(stack, codeRequest(stack, client, code, verifier));
    assert.equal(first.status, 200);
    const tokens = (await first.json()) as Tokens;
    await assertWorks(stack, tokens.access_token);
    const replay = await tokenRaw(stack, codeRequest(stack, client, code, verifier));
    await expectOAuthError(replay, 400, "invalid_grant");
    await assertRejected(stack, tokens.access_token);
    await expectOAuthError(await refresh(stack, client, tokens.refresh_token), 400, "invalid_grant");
    await intact();
  });

  it("wrong resource → invalid_target (RFC 8707 §2.2)", async () => {
    const { code, verifier } = await freshCode();
    const res = await tokenRaw(stack, {
      ...codeRequest(stack, client, code, verifier),
      resource: "https://other.example/api/mcp",
    });
    await expectOAuthError(res, 400, "invalid_target");
    await intact();
  });

  it("Cache-Control: no-store on success and on errors (RFC 6749 §5.1, §5.2)", async () => {
    const { code, verifier } = await freshCode();
    const ok = await tokenRaw(stack, codeRequest(stack, client, code, verifier));
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get("cache-control") ?? "", /no-store/);
    const body = (await ok.json()) as Tokens;
    assert.equal(body.token_type, "Bearer");
    assert.ok(body.expires_in > 0);
    const err = await tokenRaw(stack, codeRequest(stack, client, "no-such-code", verifier));
    await expectOAuthError(err, 400, "invalid_grant");
  });

  it("unsupported grant type → unsupported_grant_type (RFC 6749 §5.2)", async () => {
    for (const grant of ["password", "client_credentials"]) {
      const res = await tokenRaw(stack, {
        grant_type: grant,
        client_id: client.client_id,
        username: "a",
        password: "b",
      });
      await expectOAuthError(res, 400, "unsupported_grant_type");
    }
    await intact();
  });
});

describe("refresh tokens (OAuth 2.1 §4.3 rotation for public clients, RFC 9700 §4.14.2 reuse detection, RFC 6749 §6 scope)", () => {
  it("rotation: a new refresh token each time; the old one presented again within the window gets the same answer, byte for byte", async () => {
    const t0 = await signInTokens(stack, client, { jar });
    const r1 = await refresh(stack, client, t0.refresh_token);
    assert.equal(r1.status, 200);
    assert.match(r1.headers.get("cache-control") ?? "", /no-store/);
    const body1 = await r1.text();
    const t1 = JSON.parse(body1) as Tokens;
    assert.notEqual(t1.refresh_token, t0.refresh_token);
    assert.notEqual(t1.access_token, t0.access_token);
    await assertWorks(stack, t1.access_token);
    // Lost response: the client retries with the old token and gets what it missed, not a second chain.
    const retry = await refresh(stack, client, t0.refresh_token);
    assert.equal(retry.status, 200);
    assert.equal(await retry.text(), body1);
    // Also once the successor was used (another window went on with it): nobody is logged out.
    const r2 = await refresh(stack, client, t1.refresh_token);
    assert.equal(r2.status, 200, await r2.clone().text());
    const again = await refresh(stack, client, t0.refresh_token);
    assert.equal(await again.text(), body1);
    await assertWorks(stack, ((await r2.json()) as Tokens).access_token);
    await intact();
  });

  it("two refreshes with the same token at once (two windows, a retry): both get the winner's answer", async () => {
    const t0 = await signInTokens(stack, client, { jar });
    const [a, b] = await Promise.all([
      refresh(stack, client, t0.refresh_token),
      refresh(stack, client, t0.refresh_token),
    ]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const [ta, tb] = [await a.text(), await b.text()];
    assert.equal(ta, tb);
    const next = await refresh(stack, client, (JSON.parse(ta) as Tokens).refresh_token);
    assert.equal(next.status, 200, await next.clone().text());
    await intact();
  });

  it("downscoping to user_impersonation works; widening back → invalid_scope (RFC 6749 §5.2, §6)", async () => {
    const t0 = await signInTokens(stack, client, { jar });
    assert.deepEqual(t0.scope.split(" ").sort(), ["offline_access", SCOPE].sort());
    const narrow = await refresh(stack, client, t0.refresh_token, SCOPE);
    assert.equal(narrow.status, 200, await narrow.clone().text());
    const t1 = (await narrow.json()) as Tokens;
    assert.equal(t1.scope, SCOPE);
    await assertWorks(stack, t1.access_token);
    // The narrowed token pair covers user_impersonation only: asking for offline_access again widens it.
    assert.ok(t1.refresh_token, "the narrowed response carries a refresh token");
    const wide = await refresh(stack, client, t1.refresh_token, `${SCOPE} offline_access`);
    await expectOAuthError(wide, 400, "invalid_scope");
    // The refusal did not spend the narrowed refresh token.
    const still = await refresh(stack, client, t1.refresh_token, SCOPE);
    assert.equal(still.status, 200, await still.clone().text());
    await intact();
  });
});

describe("/revoke (RFC 7009 §2.1, §2.2)", () => {
  it("revoking the refresh token kills the grant: its access token gets 401", async () => {
    const t = await signInTokens(stack, client, { jar });
    await assertWorks(stack, t.access_token);
    const res = await fetch(`${stack.server.url}/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: t.refresh_token, client_id: client.client_id }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await assertRejected(stack, t.access_token);
    await expectOAuthError(await refresh(stack, client, t.refresh_token), 400, "invalid_grant");
    await intact();
  });

  it("another client's token is not revoked (RFC 7009 §2.1), and the answer is still 200", async () => {
    const t = await signInTokens(stack, client, { jar });
    const res = await fetch(`${stack.server.url}/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: t.refresh_token, client_id: otherClient.client_id }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await assertWorks(stack, t.access_token);
    await intact();
  });

  it("an unknown token → 200", async () => {
    const res = await fetch(`${stack.server.url}/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: "not-a-token-we-issued", client_id: client.client_id }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await intact();
  });
});

describe("request size (DoS): the authorization server's POST endpoints refuse oversized bodies", () => {
  /** POSTs with node:http (fetch gives up when the server answers before the body is sent). */
  function postStatus(path: string, type: string, body: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${stack.server.url}${path}`,
        {
          method: "POST",
          agent: false,
          headers: {
            "content-type": type,
            "content-length": Buffer.byteLength(body),
            origin: stack.server.url,
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      // The server may close the connection once it has answered; only the answer matters.
      req.on("error", (err) => reject(new Error(`${path}: ${err.message}`)));
      req.end(body);
    });
  }

  it("a body over MAX_BODY_BYTES → 413 before it is read, on /token, /revoke, /register and /authorize/consent", async () => {
    const huge = "a".repeat(1_048_576 + 1);
    for (const [path, type, body] of [
      [
        "/token",
        "application/x-www-form-urlencoded",
        `grant_type=authorization_code&client_id=x&code=${huge}`,
      ],
      ["/revoke", "application/x-www-form-urlencoded", `token=${huge}`],
      ["/register", "application/json", JSON.stringify({ redirect_uris: [REDIRECT], client_name: huge })],
      ["/authorize/consent", "application/x-www-form-urlencoded", `request_id=${huge}`],
    ] as const) {
      assert.equal(await postStatus(path, type, body), 413, path);
    }
    await intact();
  });
});

describe("token storage (MCP security best practices: codes and tokens stored only as hashes, upstream tokens sealed)", () => {
  it("the table holds no issued code, access token, refresh token, nor any Entra token", async () => {
    const p = pkce();
    const back = await authorize(stack, { client, pkce: p, jar });
    const code = back.searchParams.get("code") as string;
    const res = await tokenRaw(stack, codeRequest(stack, client, code, p.verifier));
    assert.equal(res.status, 200);
    const t = (await res.json()) as Tokens;
    const rotated = (await (await refresh(stack, client, t.refresh_token)).json()) as Tokens;
    await assertWorks(stack, rotated.access_token, "get_graph_user_details");

    const table = azuriteTableClient(stack.azurite?.tableEndpoint as string, "mcpstate");
    const rows: string[] = [];
    for await (const entity of table.listEntities())
      rows.push(JSON.stringify(entity, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
    assert.ok(rows.length > 0, "the table is empty: wrong table?");
    const dump = rows.join("\n");
    for (const [what, secret] of [
      ["authorization code", code],
      ["access token", t.access_token],
      ["refresh token", t.refresh_token],
      ["rotated access token", rotated.access_token],
      ["rotated refresh token", rotated.refresh_token],
      ["access token signature", t.access_token.split(".")[2]],
    ] as const) {
      assert.ok(!dump.includes(secret), `the table contains the ${what}`);
    }
    // The emulator does not expose the tokens it issued: look for their shapes instead.
    // Any JWT (Entra access and ID tokens, ours): a JSON header and payload, base64url ('{"' → "eyJ").
    const JWT = /eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/;
    assert.match(t.access_token, JWT); // the pattern does catch a real token
    const jwt = JWT.exec(dump);
    assert.equal(jwt, null, `a JWT is stored in clear: ${jwt?.[0].slice(0, 60)}…`);
    // Entra (emulator) refresh tokens: "1." then base64url of 96 random bytes (128 characters).
    const ENTRA_RT = /(?<![A-Za-z0-9_-])1\.[A-Za-z0-9_-]{128}(?![A-Za-z0-9_-])/;
    assert.match(JSON.stringify({ v: `1.${randomBytes(96).toString("base64url")}` }), ENTRA_RT);
    const rt = ENTRA_RT.exec(dump);
    assert.equal(rt, null, `an Entra refresh token is stored in clear: ${rt?.[0].slice(0, 20)}…`);
  });
});
