import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { jwtVerify, SignJWT } from "jose";
import { createKeyring, type Keys } from "../../../api/src/authorization-server/tokens/keyring.ts";
import { MemoryStore } from "../../../api/src/store/memory.ts";

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const DAY = 86_400_000;

async function sign(keys: Keys): Promise<string> {
  const { current } = keys.signing;
  return new SignJWT({ sub: "u" })
    .setProtectedHeader({ alg: current.alg, kid: current.kid })
    .setIssuedAt(Math.floor(T0 / 1000))
    .sign(current.privateKey);
}

async function verify(keys: Keys, jwt: string): Promise<boolean> {
  try {
    await jwtVerify(jwt, async (header) => {
      const k = keys.signing.all.find((v) => v.kid === header.kid);
      if (!k) throw new Error("unknown kid");
      return k.publicKey;
    });
    return true;
  } catch {
    return false;
  }
}

async function mac(keys: Keys): Promise<string> {
  const sig = await crypto.subtle.sign("HMAC", keys.hmac, new TextEncoder().encode("x"));
  return Buffer.from(sig).toString("base64url");
}

describe("keys", () => {
  test("generated on first use, stored, cached, and usable", async () => {
    const store = new MemoryStore({ now: () => T0 });
    const ring = createKeyring(store);
    const keys = await ring.load(T0);
    assert.equal(store.size, 1);
    assert.equal(await ring.load(T0 + MIN), keys, "served from the cache");
    assert.equal(keys.signing.all.length, 1);
    assert.equal(keys.signing.jwks.keys[0].kid, keys.signing.current.kid);
    assert.equal(keys.signing.jwks.keys[0].alg, "ES256");
    assert.equal("d" in keys.signing.jwks.keys[0], false, "no private part in the JWKS");
    assert.ok(await verify(keys, await sign(keys)));
  });

  test("two processes starting together converge on one ring", async () => {
    const store = new MemoryStore({ now: () => T0 });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => createKeyring(store).load(T0)));
    assert.equal(a.signing.current.kid, b.signing.current.kid);
    assert.equal(a.signing.current.kid, c.signing.current.kid);
    assert.equal(await mac(a), await mac(b));
    assert.ok(await verify(b, await sign(a)));
  });

  test("rotation publishes the successor first, switches after the caches expired, retires the old key", async () => {
    const store = new MemoryStore({ now: () => T0 });
    const p1 = createKeyring(store, { rotateAfterDays: 30, cacheTtlSec: 300, maxTokenLifetimeSec: 3600 });
    const p2 = createKeyring(store, { rotateAfterDays: 30, cacheTtlSec: 300, maxTokenLifetimeSec: 3600 });
    const first = await p1.load(T0);
    const stale = await p2.load(T0);
    const a = first.signing.current.kid;
    const oldToken = await sign(first);

    const t1 = T0 + 30 * DAY;
    const rotated = await p1.load(t1);
    assert.equal(rotated.signing.current.kid, a, "the successor does not sign yet");
    assert.equal(rotated.signing.all.length, 2);
    const b = rotated.signing.all.find((k) => k.kid !== a)!.kid;
    assert.equal(await mac(rotated), await mac(first), "the HMAC key stays");

    // Another instance whose cache ran out picks up the published successor before it signs.
    const seen = await p2.load(t1 + 4 * MIN);
    assert.notEqual(seen, stale);
    assert.deepEqual(seen.signing.all.map((k) => k.kid).sort(), [a, b].sort());
    assert.equal(seen.signing.current.kid, a);

    const t2 = t1 + 10 * MIN;
    const switched = await p1.load(t2);
    assert.equal(switched.signing.current.kid, b);
    assert.ok(await verify(switched, oldToken), "tokens signed with the old key still verify");
    assert.ok(await verify(seen, await sign(switched)), "instances that saw the successor verify its tokens");

    const t3 = t2 + 60 * MIN + 5 * MIN;
    const retired = await p1.load(t3);
    assert.deepEqual(
      retired.signing.all.map((k) => k.kid),
      [b],
    );
    assert.equal(await verify(retired, oldToken), false);
  });

  test("two processes rotating together add one successor", async () => {
    const store = new MemoryStore({ now: () => T0 });
    await createKeyring(store).load(T0);
    const t1 = T0 + 31 * DAY;
    const results = await Promise.all([1, 2, 3].map(() => createKeyring(store).load(t1)));
    for (const r of results) assert.equal(r.signing.all.length, 2);
    assert.equal(new Set(results.flatMap((r) => r.signing.all.map((k) => k.kid))).size, 2);
  });

  test("refresh re-reads, but at most every 10 seconds", async () => {
    const store = new MemoryStore({ now: () => T0 });
    const ring = createKeyring(store);
    const k1 = await ring.load(T0);
    assert.equal(await ring.load(T0 + 1000, { refresh: true }), k1);
    const k2 = await ring.load(T0 + 11_000, { refresh: true });
    assert.notEqual(k2, k1);
    assert.equal(k2.signing.current.kid, k1.signing.current.kid);
  });
});
