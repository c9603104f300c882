import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  createFixedWindowLimiter,
  createRegistrationRateLimiter,
  type Increment,
} from "../../../api/src/authorization-server/clients/rate-limit.ts";
import { MemoryStore } from "../../../api/src/store/memory.ts";

/** The counters the server keeps in its store, here in memory on the given clock. */
function createMemoryIncrement(options: { now?: () => number } = {}): Increment {
  const store = new MemoryStore({ now: options.now });
  return (key, windowSec) => store.increment("ratelimit", key, windowSec);
}

function fakeClock(start = 1_700_000_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

describe("createFixedWindowLimiter", () => {
  test("allows `limit` hits per window, then refuses with the seconds left in the window", async () => {
    const clock = fakeClock(60_000 * 1000); // on a window boundary
    const limiter = createFixedWindowLimiter({
      name: "t",
      limit: 3,
      windowSec: 60,
      now: clock.now,
      increment: createMemoryIncrement({ now: clock.now }),
    });
    for (let i = 0; i < 3; i++) assert.deepEqual(await limiter.hit("a"), { allowed: true, retryAfterSec: 0 });
    clock.advance(15_000);
    assert.deepEqual(await limiter.hit("a"), { allowed: false, retryAfterSec: 45 });
    clock.advance(44_500);
    assert.deepEqual(await limiter.hit("a"), { allowed: false, retryAfterSec: 1 });
    clock.advance(500); // next window
    assert.deepEqual(await limiter.hit("a"), { allowed: true, retryAfterSec: 0 });
  });

  test("keys are independent", async () => {
    const clock = fakeClock();
    const increment = createMemoryIncrement({ now: clock.now });
    const limiter = createFixedWindowLimiter({
      name: "t",
      limit: 1,
      windowSec: 60,
      now: clock.now,
      increment,
    });
    assert.equal((await limiter.hit("a")).allowed, true);
    assert.equal((await limiter.hit("a")).allowed, false);
    assert.equal((await limiter.hit("b")).allowed, true);
  });

  test("works against any injected increment (store-backed later) and namespaces its keys", async () => {
    const calls: Array<[string, number]> = [];
    const counts = new Map<string, number>();
    const increment: Increment = async (key, windowSec) => {
      calls.push([key, windowSec]);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return counts.get(key)!;
    };
    const limiter = createFixedWindowLimiter({
      name: "register:ip",
      limit: 1,
      windowSec: 60,
      now: () => 125_000,
      increment,
    });
    await limiter.hit("203.0.113.7");
    assert.deepEqual(calls, [["register:ip:203.0.113.7:2", 60]]);
  });

  test("bad options are a TypeError", () => {
    const increment = createMemoryIncrement();
    assert.throws(
      () => createFixedWindowLimiter({ name: "t", limit: -1, windowSec: 60, increment }),
      TypeError,
    );
    assert.throws(
      () => createFixedWindowLimiter({ name: "t", limit: 1, windowSec: 0, increment }),
      TypeError,
    );
  });
});

describe("createRegistrationRateLimiter (/register)", () => {
  test("defaults: 10 per minute per IP", async () => {
    const clock = fakeClock(0);
    const limiter = createRegistrationRateLimiter({
      increment: createMemoryIncrement({ now: clock.now }),
      now: clock.now,
    });
    for (let i = 0; i < 10; i++) assert.equal((await limiter.hit("198.51.100.1")).allowed, true);
    const refused = await limiter.hit("198.51.100.1");
    assert.deepEqual(refused, { allowed: false, retryAfterSec: 60 });
    assert.equal((await limiter.hit("198.51.100.2")).allowed, true, "another IP is unaffected");
    clock.advance(60_000);
    assert.equal((await limiter.hit("198.51.100.1")).allowed, true);
  });

  test("defaults: 200 per hour overall, across IPs", async () => {
    const clock = fakeClock(0);
    const limiter = createRegistrationRateLimiter({
      increment: createMemoryIncrement({ now: clock.now }),
      now: clock.now,
    });
    for (let i = 0; i < 200; i++) assert.equal((await limiter.hit(`ip-${i}`)).allowed, true);
    const refused = await limiter.hit("ip-new");
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterSec, 3600);
    clock.advance(3_600_000);
    assert.equal((await limiter.hit("ip-new")).allowed, true);
  });

  test("requests refused per IP do not spend the overall budget", async () => {
    const clock = fakeClock(0);
    const limiter = createRegistrationRateLimiter({
      increment: createMemoryIncrement({ now: clock.now }),
      now: clock.now,
      perIp: { limit: 1, windowSec: 60 },
      overall: { limit: 2, windowSec: 3600 },
    });
    assert.equal((await limiter.hit("noisy")).allowed, true);
    for (let i = 0; i < 50; i++) assert.equal((await limiter.hit("noisy")).allowed, false);
    assert.equal(
      (await limiter.hit("quiet")).allowed,
      true,
      "the noisy IP did not exhaust the overall window",
    );
    assert.equal((await limiter.hit("third")).allowed, false);
  });
});
