// The cache behind the hot path (verified tokens, grant rows): entries live exactly as long as they were
// given, the least recently used goes first, concurrent misses share one load, and a delete overtakes a
// load in flight, so a grant ended while its row was being read is not remembered as live.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ExpiringCache } from "../../api/src/core/cache.ts";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("ExpiringCache", () => {
  test("an entry lives until the time it was given, not a moment longer", () => {
    const c = clock();
    const cache = new ExpiringCache<string>({ maxEntries: 10, now: c.now });
    cache.set("a", "A", c.now() + 2000);
    c.advance(1999);
    assert.equal(cache.get("a"), "A");
    c.advance(1);
    assert.equal(cache.get("a"), undefined);
    assert.equal(cache.size, 0, "an expired entry is dropped when found");
    cache.set("b", "B", c.now());
    assert.equal(cache.get("b"), undefined, "an entry already expired is not kept");
  });

  test("when full, the least recently used entry goes first", () => {
    const c = clock();
    const cache = new ExpiringCache<number>({ maxEntries: 2, now: c.now });
    cache.set("a", 1, c.now() + 60_000);
    cache.set("b", 2, c.now() + 60_000);
    assert.equal(cache.get("a"), 1); // a is now the most recently used
    cache.set("c", 3, c.now() + 60_000);
    assert.equal(cache.get("b"), undefined);
    assert.equal(cache.get("a"), 1);
    assert.equal(cache.get("c"), 3);
    assert.equal(cache.size, 2);
  });

  test("concurrent misses share one load; the result is kept until the time it names", async () => {
    const c = clock();
    const cache = new ExpiringCache<string>({ maxEntries: 10, now: c.now });
    let loads = 0;
    const gate = deferred<void>();
    const load = async () => {
      loads++;
      await gate.promise;
      return { value: `v${loads}`, expiresAt: c.now() + 1000 };
    };
    const all = Promise.all([
      cache.getOrLoad("k", load),
      cache.getOrLoad("k", load),
      cache.getOrLoad("k", load),
    ]);
    gate.resolve();
    assert.deepEqual(await all, ["v1", "v1", "v1"]);
    assert.equal(loads, 1);
    assert.equal(await cache.getOrLoad("k", load), "v1", "a hit does not load");
    c.advance(1000);
    assert.equal(await cache.getOrLoad("k", load), "v2", "an expired entry loads again");
    assert.equal(loads, 2);
  });

  test("a failed load is not kept: the next caller loads again", async () => {
    const cache = new ExpiringCache<string>({ maxEntries: 10 });
    await assert.rejects(
      cache.getOrLoad("k", async () => {
        throw new Error("storage down");
      }),
      /storage down/,
    );
    assert.equal(
      await cache.getOrLoad("k", async () => ({ value: "ok", expiresAt: Date.now() + 60_000 })),
      "ok",
    );
  });

  test("a delete overtakes a load in flight: what it read is answered once, never remembered", async () => {
    const cache = new ExpiringCache<string>({ maxEntries: 10 });
    const gate = deferred<void>();
    const stale = cache.getOrLoad("grant", async () => {
      await gate.promise;
      return { value: "live", expiresAt: Date.now() + 60_000 };
    });
    cache.delete("grant"); // the grant ended while its row was being read
    const fresh = cache.getOrLoad("grant", async () => ({ value: "gone", expiresAt: Date.now() + 60_000 }));
    gate.resolve();
    assert.equal(await stale, "live");
    assert.equal(await fresh, "gone");
    assert.equal(cache.get("grant"), "gone", "the load that started after the delete is the one kept");
  });
});
