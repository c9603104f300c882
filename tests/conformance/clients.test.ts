/**
 * Conformance of client authentication, black box over HTTP: confidential registrations (RFC 7591
 * §3.2.1: a `client_secret` returned once), `client_secret_post` and `client_secret_basic` at `/token`
 * and `/revoke` (RFC 6749 §2.3.1, RFC 7009 §2.1), `401 invalid_client` with `WWW-Authenticate: Basic`
 * (RFC 6749 §5.2), PKCE for every client (OAuth 2.1 §4.1.1), and registrations that lapse or were never
 * made (`401 invalid_client`, so the client registers again).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  assertRejected,
  assertWorks,
  authorize,
  type Client,
  CookieJar,
  codeRequest,
  expectOAuthError,
  pkce,
  REDIRECT,
  registerClient,
  signInTokens,
  type Tokens,
  tokenRaw,
} from "@entra-mcp/testing/authorization-server";
import { type Stack, startStack } from "@entra-mcp/testing/stack";
import { azuriteTableClient } from "../../api/src/store/azurite.ts";

let stack: Stack;
const jar = new CookieJar();

before(async () => {
  stack = await startStack({ authMode: "proxy" });
});
after(async () => {
  await stack?.stop();
});

type Confidential = Client & { client_secret: string; token_endpoint_auth_method: string };

async function confidential(method: "client_secret_post" | "client_secret_basic"): Promise<Confidential> {
  const c = (await registerClient(stack, {
    client_name: `Confidential (${method})`,
    token_endpoint_auth_method: method,
  })) as Confidential & { client_secret_expires_at?: number };
  assert.equal(c.token_endpoint_auth_method, method);
  assert.equal(typeof c.client_secret, "string");
  assert.ok(c.client_secret.length >= 43, "at least 256 bits");
  assert.equal(c.client_secret_expires_at, 0, "RFC 7591 §3.2.1: required with a secret");
  return c;
}

function basic(id: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64")}`;
}

function post(path: "/token" | "/revoke", form: Record<string, string | undefined>, headers = {}) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.set(k, v);
  return fetch(`${stack.server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
}

/** A fresh code for `client` and its PKCE verifier. */
async function freshCode(client: Client) {
  const p = pkce();
  const back = await authorize(stack, { client, pkce: p, jar });
  const code = back.searchParams.get("code");
  assert.ok(code, `no code: ${back}`);
  return { code, verifier: p.verifier };
}

describe("metadata advertises the client authentication methods (RFC 8414 §2)", () => {
  it("token and revocation endpoints: none, client_secret_post, client_secret_basic", async () => {
    const meta = (await (
      await fetch(`${stack.server.url}/.well-known/oauth-authorization-server`)
    ).json()) as {
      token_endpoint_auth_methods_supported: string[];
      revocation_endpoint_auth_methods_supported: string[];
      code_challenge_methods_supported: string[];
    };
    for (const methods of [
      meta.token_endpoint_auth_methods_supported,
      meta.revocation_endpoint_auth_methods_supported,
    ]) {
      assert.deepEqual([...methods].sort(), ["client_secret_basic", "client_secret_post", "none"]);
    }
    assert.deepEqual(meta.code_challenge_methods_supported, ["S256"]);
  });
});

describe("confidential clients (RFC 6749 §2.3.1, RFC 7591 §3.2.1)", () => {
  let postClient: Confidential;
  let basicClient: Confidential;
  before(async () => {
    postClient = await confidential("client_secret_post");
    basicClient = await confidential("client_secret_basic");
  });

  it("client_secret_post: code with PKCE and the secret → tokens; refresh with the secret → tokens; the MCP call works", async () => {
    const { code, verifier } = await freshCode(postClient);
    const res = await post("/token", {
      ...codeRequest(stack, postClient, code, verifier),
      client_secret: postClient.client_secret,
    });
    assert.equal(res.status, 200, await res.clone().text());
    const tokens = (await res.json()) as Tokens;
    await assertWorks(stack, tokens.access_token);
    const refreshed = await post("/token", {
      grant_type: "refresh_token",
      client_id: postClient.client_id,
      client_secret: postClient.client_secret,
      refresh_token: tokens.refresh_token,
    });
    assert.equal(refreshed.status, 200, await refreshed.clone().text());
    await assertWorks(stack, ((await refreshed.json()) as Tokens).access_token);
  });

  it("client_secret_basic: the same with HTTP Basic (form-urlencoded id and secret)", async () => {
    const { code, verifier } = await freshCode(basicClient);
    const { client_id: _id, ...form } = codeRequest(stack, basicClient, code, verifier);
    const res = await post("/token", form, {
      authorization: basic(basicClient.client_id, basicClient.client_secret),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await assertWorks(stack, ((await res.json()) as Tokens).access_token);
  });

  it("a wrong or missing secret → 401 invalid_client (Basic: with WWW-Authenticate: Basic); the code stays unspent", async () => {
    const { code, verifier } = await freshCode(postClient);
    const request = codeRequest(stack, postClient, code, verifier);
    await expectOAuthError(
      await post("/token", { ...request, client_secret: `${postClient.client_secret}x` }),
      401,
      "invalid_client",
    );
    await expectOAuthError(await post("/token", request), 401, "invalid_client");
    const { client_id: _id, ...form } = request;
    const viaBasic = await post("/token", form, { authorization: basic(postClient.client_id, "wrong") });
    assert.match(viaBasic.headers.get("www-authenticate") ?? "", /^Basic /);
    await expectOAuthError(viaBasic, 401, "invalid_client");
    // Both methods at once is a malformed request (RFC 6749 §2.3).
    await expectOAuthError(
      await post(
        "/token",
        { ...form, client_secret: postClient.client_secret },
        { authorization: basic(postClient.client_id, postClient.client_secret) },
      ),
      400,
      "invalid_request",
    );
    // None of that spent the code.
    const ok = await post("/token", { ...request, client_secret: postClient.client_secret });
    assert.equal(ok.status, 200, await ok.clone().text());
    await ok.body?.cancel();
  });

  it("PKCE stays required: a confidential client without code_verifier → invalid_request", async () => {
    const { code } = await freshCode(postClient);
    await expectOAuthError(
      await post("/token", {
        grant_type: "authorization_code",
        client_id: postClient.client_id,
        client_secret: postClient.client_secret,
        code,
        redirect_uri: REDIRECT,
      }),
      400,
      "invalid_request",
    );
  });

  it("/revoke authenticates the client: a wrong secret → 401 and the grant lives; the right one revokes", async () => {
    const { code, verifier } = await freshCode(basicClient);
    const issued = await post("/token", {
      ...codeRequest(stack, basicClient, code, verifier),
      client_secret: basicClient.client_secret,
    });
    assert.equal(issued.status, 200);
    const t = (await issued.json()) as Tokens;
    const wrong = await post(
      "/revoke",
      { token: t.refresh_token },
      { authorization: basic(basicClient.client_id, "nope") },
    );
    await expectOAuthError(wrong, 401, "invalid_client");
    await assertWorks(stack, t.access_token);
    const right = await post(
      "/revoke",
      { token: t.refresh_token },
      { authorization: basic(basicClient.client_id, basicClient.client_secret) },
    );
    assert.equal(right.status, 200);
    await right.body?.cancel();
    await assertRejected(stack, t.access_token);
  });

  it("the table holds no client secret", async () => {
    const table = azuriteTableClient(stack.azurite?.tableEndpoint as string, "mcpstate");
    let dump = "";
    for await (const entity of table.listEntities())
      dump += JSON.stringify(entity, (_k, v) => (typeof v === "bigint" ? String(v) : v));
    assert.ok(dump.includes(postClient.client_id), "wrong table?");
    assert.ok(!dump.includes(postClient.client_secret));
    assert.ok(!dump.includes(basicClient.client_secret));
  });

  it("the secret is never logged", () => {
    const out = stack.server.output();
    assert.ok(out.includes(postClient.client_id), "the registration was logged by id");
    assert.ok(!out.includes(postClient.client_secret));
    assert.ok(!out.includes(basicClient.client_secret));
  });
});

describe("public clients are unchanged", () => {
  it("a public client that sends a secret → 401 invalid_client", async () => {
    const pub = await registerClient(stack);
    const { code, verifier } = await freshCode(pub);
    await expectOAuthError(
      await post("/token", { ...codeRequest(stack, pub, code, verifier), client_secret: "s" }),
      401,
      "invalid_client",
    );
  });
});

describe("stale registrations recover (RFC 6749 §5.2: invalid_client, so the client registers again)", () => {
  it("an unknown client_id at /token → 401 invalid_client, for a code and for a refresh", async () => {
    await expectOAuthError(
      await tokenRaw(stack, {
        grant_type: "refresh_token",
        client_id: "dcr_never-registered",
        refresh_token: "x",
      }),
      401,
      "invalid_client",
    );
    await expectOAuthError(
      await tokenRaw(stack, {
        grant_type: "authorization_code",
        client_id: "dcr_never-registered",
        code: "x",
        code_verifier: "a".repeat(43),
      }),
      401,
      "invalid_client",
    );
  });

  it("a registration that lapsed → refresh gets 401 invalid_client (not invalid_grant), and a new registration signs in", async () => {
    const c = await registerClient(stack, { client_name: "Lapsing client" });
    const t = await signInTokens(stack, c, { jar });
    // What expiry does to the row: gone.
    const table = azuriteTableClient(stack.azurite?.tableEndpoint as string, "mcpstate");
    await table.deleteEntity("client", c.client_id);
    const res = await tokenRaw(stack, {
      grant_type: "refresh_token",
      client_id: c.client_id,
      refresh_token: t.refresh_token,
    });
    const body = (await res.clone().json()) as { error_description: string };
    await expectOAuthError(res, 401, "invalid_client");
    assert.match(body.error_description, /Register the client again/);
    const again = await registerClient(stack, { client_name: "Lapsing client" });
    await assertWorks(stack, (await signInTokens(stack, again, { jar: new CookieJar() })).access_token);
  });
});
