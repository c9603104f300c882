// A server whose ENTRA_ALLOWED_TENANTS names tenants besides its own runs as a multi-tenant app
// (the deployment then registers it AzureADMultipleOrgs): people sign in at the `organizations`
// authority, each user's tokens are checked against their own tenant's issuer and renewed there, and
// OBO exchanges a user's token in that user's tenant. A single-tenant server keeps its tenant everywhere.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { type Emulator, start } from "@entra-mcp/emulator";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { loadConfig } from "../../api/src/config/config.ts";
import { Failure } from "../../api/src/core/failure.ts";
import type { Principal } from "../../api/src/core/principal.ts";
import { consentUrl } from "../../api/src/entra/consent.ts";
import { createOboProvider } from "../../api/src/entra/obo.ts";
import { createUpstreamClient, upstreamAuthorizeUrl } from "../../api/src/entra/upstream.ts";
import { createEntraVerifier } from "../../api/src/entra/verifier.ts";

const HOME = "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
const FABRIKAM = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
const STRANGER = "99999999-8888-4777-8666-555555555555";
const API = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
const env = {
  AUTH_MODE: "entra",
  PUBLIC_URL: "https://mcp.contoso.com",
  ENTRA_TENANT_ID: HOME,
  ENTRA_CLIENT_ID: API,
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
};
const single = loadConfig(env);
const multi = loadConfig({ ...env, ENTRA_ALLOWED_TENANTS: `${HOME},${FABRIKAM}` });
const issuer = (tid: string) => `https://login.microsoftonline.com/${tid}/v2.0`;

describe("multi-tenant sign-in", () => {
  it("signs people in at the home tenant, or at organizations when other tenants are allowed", () => {
    const p = { state: "s", nonce: "n", codeChallenge: "c", graphPermissions: ["User.Read"] as const };
    assert.equal(new URL(upstreamAuthorizeUrl(single, p)).pathname, `/${HOME}/oauth2/v2.0/authorize`);
    assert.equal(new URL(upstreamAuthorizeUrl(multi, p)).pathname, "/organizations/oauth2/v2.0/authorize");
    assert.equal(new URL(consentUrl(single, ["User.Read"])).pathname, `/${HOME}/oauth2/v2.0/authorize`);
    assert.equal(new URL(consentUrl(multi, ["User.Read"])).pathname, "/organizations/oauth2/v2.0/authorize");
    // A list that names only the home tenant is still single-tenant.
    assert.equal(loadConfig({ ...env, ENTRA_ALLOWED_TENANTS: HOME.toUpperCase() }).entra.signInTenant, HOME);
  });

  it("redeems the code where the browser signed in, and renews each user's tokens in their own tenant", async () => {
    const urls: string[] = [];
    const client = (config: typeof multi) =>
      createUpstreamClient(config, {
        getAssertion: async () => "assertion",
        fetch: async (url) => {
          urls.push(String(url));
          return Response.json({ access_token: "a", refresh_token: "r", expires_in: 3600 });
        },
      });
    await client(multi).redeemCode("code", "verifier");
    await client(multi).refresh("r", FABRIKAM);
    await client(single).redeemCode("code", "verifier");
    await client(single).refresh("r", HOME);
    assert.deepEqual(
      urls.map((u) => new URL(u).pathname),
      [
        "/organizations/oauth2/v2.0/token",
        `/${FABRIKAM}/oauth2/v2.0/token`,
        `/${HOME}/oauth2/v2.0/token`,
        `/${HOME}/oauth2/v2.0/token`,
      ],
    );
  });
});

describe("multi-tenant token check (Entra-direct)", () => {
  let key: CryptoKey;
  let jwk: JWK;
  before(async () => {
    const pair = await generateKeyPair("RS256");
    key = pair.privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", use: "sig", alg: "RS256" };
  });
  const fetchKeys = (async () => Response.json({ keys: [jwk] })) as typeof fetch;
  const token = (tid: string, iss = issuer(tid)) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      aud: API,
      iss,
      tid,
      oid: crypto.randomUUID(),
      scp: "user_impersonation",
      ver: "2.0",
    })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(key);
  };
  const reason = (p: Promise<unknown>) =>
    p.then(
      () => "accepted",
      (err) => (err instanceof Failure ? err.reason : String(err)),
    );

  it("accepts a user of another allowed tenant, with that tenant's issuer", async () => {
    const verifier = createEntraVerifier(multi, { fetch: fetchKeys });
    const { principal } = await verifier.verify(await token(FABRIKAM));
    assert.equal(principal.tenantId, FABRIKAM);
    assert.equal(await reason(verifier.verify(await token(HOME))), "accepted");
  });

  it("refuses a tenant that is not allowed, and a token whose issuer is another tenant's", async () => {
    const verifier = createEntraVerifier(multi, { fetch: fetchKeys });
    assert.equal(await reason(verifier.verify(await token(STRANGER))), "invalid_token");
    assert.equal(await reason(verifier.verify(await token(FABRIKAM, issuer(HOME)))), "invalid_token");
  });

  it("a single-tenant server refuses users of any other tenant", async () => {
    const verifier = createEntraVerifier(single, { fetch: fetchKeys });
    assert.equal(await reason(verifier.verify(await token(FABRIKAM))), "invalid_token");
  });
});

describe("multi-tenant OBO", () => {
  let em: Emulator;
  before(async () => {
    em = await start();
    tls.setDefaultCACertificates([...tls.getCACertificates("default"), em.caPem]);
  });
  after(async () => {
    await em?.stop();
  });

  it("exchanges each user's token in that user's tenant", async () => {
    const serverEnv = em.serverEnv();
    const foreign = FABRIKAM;
    const config = loadConfig({
      ...serverEnv,
      AUTH_MODE: "entra",
      PUBLIC_URL: "http://127.0.0.1:7071",
      ENTRA_ALLOWED_TENANTS: `${em.tenantId},${foreign}`,
    });
    // The client assertion comes from the emulator's managed-identity endpoint, as on Azure.
    process.env.IDENTITY_ENDPOINT = serverEnv.IDENTITY_ENDPOINT;
    process.env.IDENTITY_HEADER = serverEnv.IDENTITY_HEADER;
    const obo = createOboProvider(config);
    const assertion = await em.mintAccessToken();
    const principal = (tenantId: string): Principal => ({
      tenantId,
      objectId: em.users[0].oid,
      scopes: [],
      userAssertion: async () => assertion,
    });
    assert.ok(await obo.getToken(principal(em.tenantId)));
    // The emulator holds one tenant: an exchange sent to the other one stops at that tenant's discovery
    // (which Entra answers for a tenant it does not hold with AADSTS90002), so the failure shows where the
    // exchange went. Sent to the home tenant instead, it would have succeeded.
    em.resetCounts();
    await assert.rejects(obo.getToken(principal(foreign)), Failure);
    assert.equal(em.counts()["errors.discovery"], 1);
    assert.equal(em.counts()["token.obo"] ?? 0, 0);
  });
});
