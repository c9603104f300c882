/**
 * The Entra-direct token gate, in process: real jose verification against a JWKS the test serves, so
 * every rejection below is the real code path. Each case asserts the status and the challenge a client
 * acts on.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { parseChallenge, rpcResult, toolCall } from "@entra-mcp/testing/mcp-request";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { createApp } from "../../api/src/app.ts";
import { loadConfig } from "../../api/src/config/config.ts";
import { silentLogger } from "../../api/src/core/log.ts";
import { originPolicy } from "../../api/src/resource-server/guards.ts";

const TENANT = "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
const API = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const ORIGIN = "http://127.0.0.1:7071";
const ENV = {
  AUTH_MODE: "entra",
  PUBLIC_URL: ORIGIN,
  ENTRA_TENANT_ID: TENANT,
  ENTRA_CLIENT_ID: API,
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
};
const config = loadConfig(ENV);

let signingKey: CryptoKey;
let publicJwk: JWK;
let otherKey: CryptoKey;
let jwksFetches = 0;
let jwksDown = false;

const fakeFetch = (async (input: RequestInfo | URL) => {
  const url = String(input instanceof Request ? input.url : input);
  assert.equal(url, `https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`);
  jwksFetches++;
  if (jwksDown) throw new TypeError("fetch failed");
  return Response.json({ keys: [{ ...publicJwk, kid: "k1", use: "sig", alg: "RS256" }] });
}) as typeof fetch;

const app = () => createApp(config, { fetch: fakeFetch, logger: silentLogger });
let shared: ReturnType<typeof createApp>;

function claims(over: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    aud: API,
    iss: ISSUER,
    iat: now,
    nbf: now,
    exp: now + 3600,
    tid: TENANT,
    oid: "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
    name: "Adele Vance",
    preferred_username: "adele@contoso.test",
    scp: "user_impersonation",
    azp: "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d",
    ver: "2.0",
    ...over,
  };
}

async function sign(over: Record<string, unknown> = {}, opts: { kid?: string; key?: CryptoKey } = {}) {
  return new SignJWT(claims(over))
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: opts.kid ?? "k1" })
    .sign(opts.key ?? signingKey);
}

async function call(token?: string, a = shared, extra: Record<string, string> = {}) {
  const { headers, body } = toolCall("whoami");
  return a.request(`${ORIGIN}/api/mcp`, {
    method: "POST",
    headers: {
      ...headers,
      ...extra,
      host: "127.0.0.1:7071",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body,
  });
}

const b64url = (s: string) => Buffer.from(s).toString("base64url");

before(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  signingKey = pair.privateKey;
  publicJwk = await exportJWK(pair.publicKey);
  otherKey = (await generateKeyPair("RS256")).privateKey;
  shared = app();
});

describe("token gate (Entra-direct mode)", () => {
  it("accepts a valid v2 user token and passes the principal to tools", async () => {
    const res = await call(await sign());
    assert.equal(res.status, 200);
    const { result } = await rpcResult(res);
    const who = result?.structuredContent as Record<string, unknown>;
    assert.equal(who.objectId, "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f");
    assert.equal(who.tenantId, TENANT);
    assert.deepEqual(who.scopes, [`api://${API}/user_impersonation`]);
  });

  it("accepts the App ID URI as audience too", async () => {
    assert.equal((await call(await sign({ aud: `api://${API}` }))).status, 200);
  });

  it("no token: 401 with resource_metadata and scope, and no error code (RFC 6750 §3.1)", async () => {
    const res = await call();
    assert.equal(res.status, 401);
    const ch = parseChallenge(res.headers.get("www-authenticate"));
    assert.equal(ch.resource_metadata, `${ORIGIN}/.well-known/oauth-protected-resource/api/mcp`);
    assert.equal(ch.scope, `api://${API}/user_impersonation`);
    assert.equal(ch.error, undefined);
  });

  const rejected: Array<[string, () => Promise<string>, RegExp]> = [
    ["malformed", async () => "not-a-jwt", /malformed/],
    [
      "expired",
      () =>
        sign({
          exp: Math.floor(Date.now() / 1000) - 3600,
          iat: Math.floor(Date.now() / 1000) - 7200,
          nbf: Math.floor(Date.now() / 1000) - 7200,
        }),
      /expired/,
    ],
    ["not yet valid", () => sign({ nbf: Math.floor(Date.now() / 1000) + 3600 }), /not yet valid/],
    [
      "wrong issuer",
      () => sign({ iss: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0" }),
      /iss/,
    ],
    ["v1 issuer", () => sign({ iss: `https://sts.windows.net/${TENANT}/` }), /iss/],
    ["wrong audience", () => sign({ aud: "11111111-2222-3333-4444-555555555555" }), /aud/],
    [
      "a Graph token (no passthrough)",
      () => sign({ aud: "https://graph.microsoft.com", scp: "User.Read" }),
      /aud/,
    ],
    ["wrong tenant", () => sign({ tid: "00000000-0000-0000-0000-000000000001" }), /tenant/],
    [
      "alg none",
      async () =>
        `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify(claims()))}.`,
      /algorithm/,
    ],
    [
      "HS256 signed with the public key",
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
        return new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid: "k1" }).sign(secret);
      },
      /algorithm/,
    ],
    ["a bad signature", () => sign({}, { key: otherKey }), /signature/],
    ["an unknown kid", () => sign({}, { kid: "rotated-away", key: otherKey }), /unknown key/],
  ];
  for (const [name, token, reason] of rejected) {
    it(`${name}: 401 invalid_token with the challenge`, async () => {
      const res = await call(await token());
      assert.equal(res.status, 401);
      const ch = parseChallenge(res.headers.get("www-authenticate"));
      assert.equal(ch.error, "invalid_token");
      assert.match(ch.error_description, reason);
      assert.equal(ch.resource_metadata, `${ORIGIN}/.well-known/oauth-protected-resource/api/mcp`);
      assert.equal(ch.scope, `api://${API}/user_impersonation`);
    });
  }

  it("a non-Bearer scheme is refused", async () => {
    const res = await shared.request(`${ORIGIN}/api/mcp`, {
      method: "POST",
      headers: { host: "127.0.0.1:7071", authorization: "Basic dXNlcjpwYXNz" },
    });
    assert.equal(res.status, 401);
    assert.equal(parseChallenge(res.headers.get("www-authenticate")).error, "invalid_token");
  });

  it("missing scope: 403 insufficient_scope naming the scope", async () => {
    for (const over of [{ scp: "Other.Scope" }, { scp: undefined, roles: ["Task.Read"] }]) {
      const res = await call(await sign(over));
      assert.equal(res.status, 403);
      const ch = parseChallenge(res.headers.get("www-authenticate"));
      assert.equal(ch.error, "insufficient_scope");
      assert.equal(ch.scope, `api://${API}/user_impersonation`);
    }
  });

  it("unknown kids refetch the JWKS at most once per cooldown", async () => {
    const a = app();
    jwksFetches = 0;
    assert.equal((await call(await sign(), a)).status, 200);
    assert.equal(jwksFetches, 1);
    for (let i = 0; i < 5; i++)
      assert.equal((await call(await sign({}, { kid: `unknown-${i}`, key: otherKey }), a)).status, 401);
    assert.ok(jwksFetches <= 2, `JWKS fetched ${jwksFetches} times for 5 unknown kids`);
    assert.equal((await call(await sign(), a)).status, 200, "valid tokens still pass from the cache");
  });

  it("signing keys that cannot be fetched give 503, not a sign-in loop", async () => {
    jwksDown = true;
    try {
      const res = await call(await sign(), app());
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("www-authenticate"), null);
    } finally {
      jwksDown = false;
    }
  });
});

describe("protected resource metadata", () => {
  it("is served at the path-inserted and the root well-known URLs with the MCP URL as resource", async () => {
    for (const path of [
      "/.well-known/oauth-protected-resource/api/mcp",
      "/.well-known/oauth-protected-resource",
    ]) {
      const res = await shared.request(`${ORIGIN}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      const prm = (await res.json()) as Record<string, unknown>;
      assert.equal(prm.resource, `${ORIGIN}/api/mcp`);
      assert.deepEqual(prm.authorization_servers, [ISSUER]);
      assert.deepEqual(prm.scopes_supported, [`api://${API}/user_impersonation`]);
      assert.ok(!JSON.stringify(prm).includes("offline_access"));
    }
  });
});

describe("transport guards", () => {
  it("a foreign Origin gets 403 before authentication", async () => {
    const res = await shared.request(`${ORIGIN}/api/mcp`, {
      method: "POST",
      headers: { host: "127.0.0.1:7071", origin: "https://evil.example" },
    });
    assert.equal(res.status, 403);
  });

  it("on loopback, a browser client on another loopback port is accepted (the Inspector's web UI); a deployment refuses it", async () => {
    const inspector = "http://localhost:6274";
    const preflight = await shared.request(`${ORIGIN}/api/mcp`, {
      method: "OPTIONS",
      headers: {
        host: "127.0.0.1:7071",
        origin: inspector,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    assert.equal(preflight.headers.get("access-control-allow-origin"), inspector);
    const local = await call(await sign(), shared, { origin: inspector });
    assert.equal(local.status, 200);
    // The browser may read the answer and its MCP headers; a call without Origin (not a browser) gets
    // no CORS headers at all.
    assert.equal(local.headers.get("access-control-allow-origin"), inspector);
    assert.match(local.headers.get("access-control-expose-headers") ?? "", /WWW-Authenticate/);
    const plain = await call(await sign(), shared);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get("access-control-expose-headers"), null);
    for (const foreign of ["https://evil.example", "http://127.0.0.1.evil.example:6274", "null"]) {
      const res = await call(await sign(), shared, { origin: foreign });
      assert.equal(res.status, 403, foreign);
    }

    const deployed = loadConfig({ ...ENV, PUBLIC_URL: "https://mcp.contoso.com" });
    const allowed = originPolicy(deployed);
    assert.equal(allowed("https://mcp.contoso.com"), true);
    assert.equal(allowed(inspector), false, "production keeps exact origins");
    assert.equal(allowed("http://127.0.0.1:6274"), false);
    const prod = createApp(deployed, { fetch: fakeFetch, logger: silentLogger });
    const res = await prod.request("https://mcp.contoso.com/api/mcp", {
      method: "POST",
      headers: { host: "mcp.contoso.com", origin: inspector },
    });
    assert.equal(res.status, 403);
  });

  it("a foreign Host gets 403 (DNS rebinding)", async () => {
    const res = await shared.request("http://evil.example/api/mcp", {
      method: "POST",
      headers: { host: "evil.example" },
    });
    assert.equal(res.status, 403);
  });

  it("an oversized body gets 413 and the server keeps serving", async () => {
    const { headers } = toolCall("whoami");
    const res = await shared.request(`${ORIGIN}/api/mcp`, {
      method: "POST",
      headers: { ...headers, host: "127.0.0.1:7071", authorization: `Bearer ${await sign()}` },
      body: "x".repeat(config.maxBodyBytes + 1),
    });
    assert.equal(res.status, 413);
    assert.equal((await call(await sign())).status, 200);
  });
});
