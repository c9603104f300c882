/**
 * The grant service on the in-memory store, whose every call yields to the event loop so concurrent
 * callers interleave as two server instances would on one table.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { createGrantService } from "../../../api/src/authorization-server/tokens/grants.ts";
import { createKeyring } from "../../../api/src/authorization-server/tokens/keyring.ts";
import { loadConfig } from "../../../api/src/config/config.ts";
import { Failure } from "../../../api/src/core/failure.ts";
import { MemoryStore } from "../../../api/src/store/memory.ts";

const config = loadConfig({
  AUTH_MODE: "proxy",
  PUBLIC_URL: "http://127.0.0.1:7071",
  ENTRA_TENANT_ID: "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
  ENTRA_CLIENT_ID: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
  STORAGE_TABLE_ENDPOINT: "http://127.0.0.1:10002/devstoreaccount1",
});

async function signedIn() {
  const store = new MemoryStore();
  const grants = createGrantService(config, { store, keyring: createKeyring(store) });
  const { code } = await grants.create({
    tid: "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
    oid: "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
    clientId: "dcr_client",
    scopes: ["user_impersonation", "offline_access"],
    upstream: { accessToken: "entra-at", refreshToken: "entra-rt", expiresAt: Date.now() + 3_600_000 },
    code: { redirectUri: "http://127.0.0.1/cb", redirectUriGiven: true, codeChallenge: "x".repeat(43) },
  });
  const tokens = await grants.redeemCode(code, async () => {});
  return { grants, tokens };
}

describe("refresh rotation across instances (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2)", () => {
  it("two refreshes with the same token at the same time: one chain lives on, not two", async () => {
    const { grants, tokens } = await signedIn();
    const results = await Promise.allSettled([
      grants.refresh(tokens.refresh_token, "dcr_client"),
      grants.refresh(tokens.refresh_token, "dcr_client"),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    assert.equal(won.length, 1, "both concurrent refreshes were answered with a live refresh token");
    assert.ok(lost[0].reason instanceof Failure);
    assert.equal(lost[0].reason.reason, "invalid_grant");
    assert.equal(lost[0].reason.log?.revokedGrant, undefined);
    // The winner's chain goes on.
    const next = await grants.refresh(won[0].value.refresh_token, "dcr_client");
    assert.ok(next.refresh_token);
  });
});

describe("access token verification (RFC 9068 §4)", () => {
  it("accepts the server's own token; refuses an unknown kid and a foreign key with the server's kid", async () => {
    const { grants, tokens } = await signedIn();
    const ok = await grants.verifyAccessToken(tokens.access_token);
    assert.equal(ok.grant.oid, "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f");

    const claims = decodeJwt(tokens.access_token);
    const { kid } = decodeProtectedHeader(tokens.access_token);
    const { privateKey } = await generateKeyPair("ES256");
    const forge = (k: string | undefined) =>
      new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: k }).sign(privateKey);
    await assert.rejects(grants.verifyAccessToken(await forge("not-a-key-of-ours")), {
      code: "ERR_JWKS_NO_MATCHING_KEY",
    });
    await assert.rejects(grants.verifyAccessToken(await forge(kid)), {
      code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    });
  });
});
