// Entra-direct mode checks a token's signature once and remembers the result until the token expires:
// a client calling with one token pays for one check. Only the very same token finds the remembered
// result, a refused token is checked again every time, and an expired one is refused as before.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { loadConfig } from "../../api/src/config/config.ts";
import { Failure } from "../../api/src/core/failure.ts";
import { createEntraVerifier, type EntraKeySet } from "../../api/src/entra/verifier.ts";

const TENANT = "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
const API = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
const config = loadConfig({
  AUTH_MODE: "entra",
  PUBLIC_URL: "https://mcp.contoso.com",
  ENTRA_TENANT_ID: TENANT,
  ENTRA_CLIENT_ID: API,
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
});

describe("Entra-direct: a verified token is remembered until it expires", () => {
  let key: CryptoKey;
  let jwk: JWK;
  before(async () => {
    const pair = await generateKeyPair("RS256");
    key = pair.privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256" };
  });

  /** A key set that counts how often a signature check asked it for the key. */
  function countingKeys() {
    const asked = { n: 0 };
    const keySet = (async () => {
      asked.n++;
      return importJWK(jwk, "RS256");
    }) as unknown as EntraKeySet;
    return { asked, keySet };
  }

  const token = (claims: Record<string, unknown> = {}, lifetimeSec = 600, at = Date.now()) => {
    const iat = Math.floor(at / 1000);
    return new SignJWT({
      aud: API,
      iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
      tid: TENANT,
      oid: "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
      scp: "user_impersonation",
      ...claims,
    })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuedAt(iat)
      .setExpirationTime(iat + lifetimeSec)
      .sign(key);
  };

  it("the same token twice: one signature check, the same user", async () => {
    const { asked, keySet } = countingKeys();
    const verifier = createEntraVerifier(config, { keySet });
    const t = await token();
    const first = await verifier.verify(t);
    const second = await verifier.verify(t);
    assert.equal(asked.n, 1);
    assert.equal(second.principal.objectId, first.principal.objectId);
    assert.equal(await second.principal.userAssertion(), t, "OBO still gets the caller's own token");
  });

  it("a token altered after a check is checked anew, and refused", async () => {
    const { keySet } = countingKeys();
    const verifier = createEntraVerifier(config, { keySet });
    const t = await token();
    await verifier.verify(t);
    const [h, p, s] = t.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
    const other = Buffer.from(JSON.stringify({ ...claims, oid: "ffffffff-0000-4000-8000-000000000000" }));
    await assert.rejects(verifier.verify(`${h}.${other.toString("base64url")}.${s}`), (err) => {
      assert.ok(err instanceof Failure);
      assert.equal(err.reason, "invalid_token");
      return true;
    });
  });

  it("a refused token is never remembered: every attempt is checked", async () => {
    const { asked, keySet } = countingKeys();
    const verifier = createEntraVerifier(config, { keySet });
    const t = await token({ scp: "something_else" });
    for (let i = 0; i < 3; i++) {
      await assert.rejects(
        verifier.verify(t),
        (err) => err instanceof Failure && err.reason === "insufficient_scope",
      );
    }
    assert.equal(asked.n, 3);
  });

  it("a remembered token is refused once it has expired (past the clock skew)", async () => {
    let now = Date.now();
    const { keySet } = countingKeys();
    const verifier = createEntraVerifier(config, { keySet, now: () => now, clockToleranceSec: 60 });
    const t = await token({}, 600, now);
    await verifier.verify(t);
    now += 600_000 + 61_000;
    await assert.rejects(
      verifier.verify(t),
      (err) => err instanceof Failure && err.reason === "invalid_token",
    );
  });
});
