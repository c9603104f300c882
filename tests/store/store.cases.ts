/**
 * The behaviour every `Store` must have, as one suite run against each implementation (in memory and
 * Table Storage on Azurite), so the fake can't drift from the real thing.
 *
 * @module
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  MAX_VALUE_CHARS,
  NEVER,
  type Store,
  StoreConflictError,
  StoreValueError,
} from "../../api/src/store/store.ts";

/** A clock the suite moves by hand: rows expire without waiting. */
export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}

export type MakeStore = (clock: TestClock) => Promise<Store>;

const START = Date.UTC(2026, 0, 1);

export function runStoreCases(makeStore: MakeStore): void {
  const setup = async () => {
    let t = START;
    const clock: TestClock = { now: () => t, advance: (ms) => (t += ms) };
    return { clock, store: await makeStore(clock) };
  };

  test("a missing row reads as absent and deletes as false", async () => {
    const { store } = await setup();
    assert.equal(await store.get("client", "nope"), undefined);
    assert.equal(await store.delete("client", "nope"), false);
  });

  test("put then get returns the value, an etag and the expiry; unicode survives", async () => {
    const { store, clock } = await setup();
    const value = { name: "Grüße, 日本語, emoji 🚀, quote ' \" and \\ and \u0000", n: 1.5, list: [1, "x"] };
    const { etag } = await store.put("client", "c1", value, { ttlSec: 60 });
    const got = await store.get<typeof value>("client", "c1");
    assert.deepEqual(got?.value, value);
    assert.equal(got?.etag, etag);
    assert.equal(got?.expiresAt, clock.now() + 60_000);
  });

  test("ids outside Table key rules round-trip and stay distinct", async () => {
    const { store } = await setup();
    const ids = ["a/b", "a#b", "a?b", "a\\b", "a%2Fb", "ünï cödé", "https://client.example/cimd.json"];
    for (const id of ids) await store.put("client", id, { id }, { ttlSec: 60 });
    for (const id of ids) assert.deepEqual((await store.get("client", id))?.value, { id });
    // Kinds partition the ids: the same id under another kind is another row.
    assert.equal(await store.get("code", "a/b"), undefined);
  });

  test("a row expires after its ttl and reads as absent", async () => {
    const { store, clock } = await setup();
    await store.put("code", "k", { v: 1 }, { ttlSec: 10 });
    clock.advance(9_999);
    assert.ok(await store.get("code", "k"));
    clock.advance(1);
    assert.equal(await store.get("code", "k"), undefined);
  });

  test("ttlSec Infinity never expires", async () => {
    const { store, clock } = await setup();
    await store.put("key", "ring", { v: 1 }, { ttlSec: Number.POSITIVE_INFINITY });
    clock.advance(10 * 365 * 86_400_000);
    assert.equal((await store.get("key", "ring"))?.expiresAt, NEVER);
    assert.equal(await store.sweep(), 0);
  });

  test("ifAbsent fails on a live row and succeeds over an expired one", async () => {
    const { store, clock } = await setup();
    await store.put("pending", "p", { v: 1 }, { ttlSec: 5, ifAbsent: true });
    await assert.rejects(
      store.put("pending", "p", { v: 2 }, { ttlSec: 5, ifAbsent: true }),
      StoreConflictError,
    );
    assert.deepEqual((await store.get("pending", "p"))?.value, { v: 1 });
    clock.advance(5_000);
    await store.put("pending", "p", { v: 3 }, { ttlSec: 5, ifAbsent: true });
    assert.deepEqual((await store.get("pending", "p"))?.value, { v: 3 });
  });

  test("ifMatch replaces only the version read", async () => {
    const { store } = await setup();
    const first = await store.put("grant", "g", { v: 1 }, { ttlSec: 60 });
    const second = await store.put("grant", "g", { v: 2 }, { ttlSec: 60, ifMatch: first.etag });
    assert.notEqual(second.etag, first.etag);
    await assert.rejects(
      store.put("grant", "g", { v: 3 }, { ttlSec: 60, ifMatch: first.etag }),
      StoreConflictError,
    );
    assert.deepEqual((await store.get("grant", "g"))?.value, { v: 2 });
    await assert.rejects(
      store.put("grant", "gone", { v: 1 }, { ttlSec: 60, ifMatch: first.etag }),
      StoreConflictError,
    );
  });

  test("two concurrent ifMatch writers: exactly one wins", async () => {
    const { store } = await setup();
    await store.put("refresh", "r", { gen: 0 }, { ttlSec: 60 });
    const read = (await store.get<{ gen: number }>("refresh", "r"))!;
    const results = await Promise.allSettled(
      [1, 2].map((gen) => store.put("refresh", "r", { gen }, { ttlSec: 60, ifMatch: read.etag })),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.ok(lost.reason instanceof StoreConflictError);
    const winner = results.findIndex((r) => r.status === "fulfilled") + 1;
    assert.deepEqual((await store.get("refresh", "r"))?.value, { gen: winner });
  });

  test("concurrent ifAbsent creators: exactly one wins", async () => {
    const { store } = await setup();
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((n) => store.put("key", "init", { n }, { ttlSec: 60, ifAbsent: true })),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  });

  test("single-use: two concurrent ifMatch deletes spend a row once", async () => {
    const { store } = await setup();
    const { etag } = await store.put("code", "c", { v: 1 }, { ttlSec: 60 });
    await assert.rejects(store.delete("code", "c", { ifMatch: 'W/"stale"' }), StoreConflictError);
    const results = await Promise.allSettled([
      store.delete("code", "c", { ifMatch: etag }),
      store.delete("code", "c", { ifMatch: etag }),
    ]);
    const spent = results.filter((r) => r.status === "fulfilled" && r.value === true);
    assert.equal(spent.length, 1);
    assert.equal(await store.get("code", "c"), undefined);
  });

  test("increment counts every concurrent hit once, then resets with the window", async () => {
    const { store, clock } = await setup();
    const n = 8;
    const counts = await Promise.all(Array.from({ length: n }, () => store.increment("ratelimit", "ip", 60)));
    assert.deepEqual(
      [...counts].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i + 1),
    );
    clock.advance(30_000);
    assert.equal(await store.increment("ratelimit", "ip", 60), n + 1);
    // The window ends 60 s after the first hit, not after the latest.
    clock.advance(30_000);
    assert.equal(await store.increment("ratelimit", "ip", 60), 1);
  });

  test("list returns the live rows under a prefix, in id order, up to a limit", async () => {
    const { store, clock } = await setup();
    await store.put("gidx", "u.tid.oid1.b", { n: 2 }, { ttlSec: 60 });
    await store.put("gidx", "u.tid.oid1.a", { n: 1 }, { ttlSec: 60 });
    await store.put("gidx", "u.tid.oid1.c", { n: 3 }, { ttlSec: 1 });
    await store.put("gidx", "u.tid.oid10.a", { n: 9 }, { ttlSec: 60 });
    await store.put("gidx", "u.tid.oid1/x", { n: 9 }, { ttlSec: 60 });
    await store.put("gidx", "u.tid.oid1-x", { n: 9 }, { ttlSec: 60 });
    await store.put("gidx", "u.tid.oid1.'q ü/#", { n: 4 }, { ttlSec: 60 });
    await store.put("grant", "u.tid.oid1.z", { n: 9 }, { ttlSec: 60 });
    clock.advance(2_000);
    const rows = await store.list<{ n: number }>("gidx", "u.tid.oid1.");
    assert.deepEqual(
      rows.map((r) => [r.id, r.value.n]),
      [
        ["u.tid.oid1.'q ü/#", 4],
        ["u.tid.oid1.a", 1],
        ["u.tid.oid1.b", 2],
      ].sort((x, y) => encodeURIComponent(String(x[0])).localeCompare(encodeURIComponent(String(y[0])))),
    );
    assert.ok(rows.every((r) => r.etag && r.expiresAt > clock.now()));
    assert.equal((await store.list("gidx", "u.tid.oid1.", { limit: 2 })).length, 2);
    assert.deepEqual(await store.list("gidx", "nothing."), []);
  });

  test("sweep deletes expired rows only and returns how many", async () => {
    const { store, clock } = await setup();
    await store.put("code", "short1", { v: 1 }, { ttlSec: 1 });
    await store.put("pending", "short2", { v: 2 }, { ttlSec: 2 });
    await store.put("client", "long", { v: 3 }, { ttlSec: 3600 });
    assert.equal(await store.sweep(), 0);
    clock.advance(2_000);
    assert.equal(await store.sweep(), 2);
    assert.ok(await store.get("client", "long"));
    assert.equal(await store.sweep(), 0);
    assert.equal(await store.sweep(clock.now() + 3_600_000), 1);
  });

  test("values that are not objects or are too large fail clearly", async () => {
    const { store } = await setup();
    await assert.rejects(store.put("client", "x", "text", { ttlSec: 1 }), StoreValueError);
    await assert.rejects(store.put("client", "x", [1], { ttlSec: 1 }), StoreValueError);
    await assert.rejects(store.put("client", "x", { v: 1 }, { ttlSec: 0 }), StoreValueError);
    await assert.rejects(
      store.put("client", "big", { s: "x".repeat(MAX_VALUE_CHARS) }, { ttlSec: 1 }),
      (err: Error) => err instanceof StoreValueError && /64 KiB/.test(err.message),
    );
    // Just under the limit is fine. Non-ASCII characters count as their \uXXXX escapes.
    const big = { s: "x".repeat(MAX_VALUE_CHARS - 10) };
    await store.put("client", "edge", big, { ttlSec: 60 });
    assert.deepEqual((await store.get("client", "edge"))?.value, big);
    const wide = { s: `${"é".repeat(4000)}${"x".repeat(MAX_VALUE_CHARS - 24_030)}🚀` };
    await store.put("client", "wide", wide, { ttlSec: 60 });
    assert.ok((await store.get<typeof wide>("client", "wide"))?.value.s === wide.s, "wide value round-trips");
    await assert.rejects(
      store.put("client", "x", { s: "é".repeat(MAX_VALUE_CHARS / 6) }, { ttlSec: 1 }),
      StoreValueError,
    );
  });
}
