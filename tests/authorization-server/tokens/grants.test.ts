/**
 * The grant service on the in-memory store, whose every call yields to the event loop so concurrent
 * callers interleave as two server instances would on one table.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import {
  createGrantService,
  GRANT_STATE_CACHE_MS,
  REFRESH_RETRY_WINDOW_SEC,
} from "../../../api/src/authorization-server/tokens/grants.ts";
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

async function signedIn(opts: { offline?: boolean; now?: () => number } = {}) {
  const store = new MemoryStore({ now: opts.now });
  const grants = createGrantService(config, { store, keyring: createKeyring(store), now: opts.now });
  const { code } = await grants.create({
    tid: "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
    oid: "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
    clientId: "dcr_client",
    scopes: ["user_impersonation", "offline_access"],
    offline: opts.offline ?? true,
    upstream: { accessToken: "entra-at", refreshToken: "entra-rt", expiresAt: Date.now() + 3_600_000 },
    code: { redirectUri: "http://127.0.0.1/cb", redirectUriGiven: true, codeChallenge: "x".repeat(43) },
  });
  const tokens = await grants.redeemCode(code, async () => {});
  return { grants, tokens, store };
}

function clock(start = Date.now()) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof Failure, String(err));
    return err;
  }
  assert.fail("expected a failure");
}

describe("refresh rotation across instances (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2)", () => {
  it("two refreshes with the same token at the same time: both get the winner's answer, byte for byte; one chain lives on", async () => {
    const { grants, tokens } = await signedIn();
    const rt = tokens.refresh_token as string;
    const [a, b] = await Promise.all([grants.refresh(rt, "dcr_client"), grants.refresh(rt, "dcr_client")]);
    assert.equal(JSON.stringify(a), JSON.stringify(b));
    // The winner's chain goes on.
    const next = await grants.refresh(a.refresh_token as string, "dcr_client");
    assert.ok(next.refresh_token);
  });

  it("a retry inside the window gets the same answer; after it, the old token revokes the grant", async () => {
    const c = clock();
    const { grants, tokens } = await signedIn({ now: c.now });
    const rt = tokens.refresh_token as string;
    const first = await grants.refresh(rt, "dcr_client");
    c.advance((REFRESH_RETRY_WINDOW_SEC - 1) * 1000);
    assert.equal(JSON.stringify(await grants.refresh(rt, "dcr_client")), JSON.stringify(first));
    c.advance(2000);
    const replay = await failure(grants.refresh(rt, "dcr_client"));
    assert.equal(replay.reason, "invalid_grant");
    assert.equal(replay.log?.revokedGrant, true);
    await assert.rejects(grants.verifyAccessToken(first.access_token), Failure);
  });

  it("a grant without offline access gets no refresh token", async () => {
    const { tokens } = await signedIn({ offline: false });
    assert.equal(tokens.refresh_token, undefined);
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

describe("the grant key inside the access token", () => {
  it("is sealed: the token's holder cannot read it, and it does not open in another token", async () => {
    const { grants, tokens, store } = await signedIn();
    const claims = decodeJwt(tokens.access_token);
    const gk = String(claims.gk);
    assert.match(gk, /^v1\.[\w-]+\.[\w-]+$/);
    // 32 raw key bytes would be 43 base64url characters in clear; the seal adds a 16-byte tag.
    const ct = gk.split(".")[2];
    assert.equal(Buffer.from(ct, "base64url").length, 48);
    // A raw key in the claim (the old form) no longer opens anything.
    const grant = await store.get<{ upstream: string }>("grant", String(claims.gid));
    assert.ok(grant);
    const ok = await grants.verifyAccessToken(tokens.access_token);
    const upstream = await grants.openUpstream(ok.grantId, ok.grant, ok.grantKey);
    assert.equal(upstream.accessToken, "entra-at");
  });
});

describe("the hot path: access tokens without a storage round trip, revocation within GRANT_STATE_CACHE_MS", () => {
  /** Counts the grant rows an instance reads from the shared store. */
  function countingReads(store: MemoryStore) {
    const reads = { grant: 0 };
    const get = store.get.bind(store);
    store.get = (async (kind: string, id: string) => {
      if (kind === "grant") reads.grant++;
      return get(kind as never, id);
    }) as typeof store.get;
    return reads;
  }

  it("one grant read per GRANT_STATE_CACHE_MS, however many calls; then read again", async () => {
    const c = clock();
    const { grants, tokens, store } = await signedIn({ now: c.now });
    await grants.verifyAccessToken(tokens.access_token); // records the first use (a write), once
    const reads = countingReads(store);
    const calls = await Promise.all(
      Array.from({ length: 20 }, () => grants.verifyAccessToken(tokens.access_token)),
    );
    for (const v of calls) assert.equal(v.grant.clientId, "dcr_client");
    assert.equal(reads.grant, 1, "twenty concurrent calls share one read");
    c.advance(GRANT_STATE_CACHE_MS - 1);
    await grants.verifyAccessToken(tokens.access_token);
    assert.equal(reads.grant, 1);
    c.advance(1);
    await grants.verifyAccessToken(tokens.access_token);
    assert.equal(reads.grant, 2, "the row is read again once the bound has passed");
  });

  it("revoked on this instance: refused at once; on another instance: refused within GRANT_STATE_CACHE_MS", async () => {
    const c = clock();
    const { grants: here, tokens, store } = await signedIn({ now: c.now });
    const there = createGrantService(config, { store, keyring: createKeyring(store), now: c.now });
    await here.verifyAccessToken(tokens.access_token); // records the first use (a write), once
    const { grantId } = await there.verifyAccessToken(tokens.access_token); // `there` now holds the row
    assert.ok(await here.end(grantId));
    assert.equal((await failure(here.verifyAccessToken(tokens.access_token))).reason, "invalid_grant");
    // The other instance still answers from the row it read, but never past the bound.
    c.advance(GRANT_STATE_CACHE_MS - 1);
    await there.verifyAccessToken(tokens.access_token);
    c.advance(1);
    assert.equal((await failure(there.verifyAccessToken(tokens.access_token))).reason, "invalid_grant");
  });

  it("a remembered token is the very same token only: a forged one is still checked and refused", async () => {
    const { grants, tokens } = await signedIn();
    await grants.verifyAccessToken(tokens.access_token);
    const [h, p] = tokens.access_token.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: "user_impersonation admin" })).toString(
      "base64url",
    );
    const forged = `${h}.${widened}.${tokens.access_token.split(".")[2]}`;
    await assert.rejects(grants.verifyAccessToken(forged));
  });

  it("a remembered token stops working when it expires", async () => {
    const c = clock();
    const { grants, tokens } = await signedIn({ now: c.now });
    await grants.verifyAccessToken(tokens.access_token);
    c.advance((decodeJwt(tokens.access_token).exp as number) * 1000 - c.now() + 31_000);
    await assert.rejects(grants.verifyAccessToken(tokens.access_token));
  });
});
