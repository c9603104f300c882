import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AbuseBudgets,
  callerKey,
  createAbuseLimits,
  createFixedWindowLimiter,
  DEFAULT_BUDGETS,
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

describe("per-caller budgets (/register, /authorize, /token, CIMD hosts)", () => {
  const limits = (clock: { now: () => number }, budgets?: Partial<AbuseBudgets>) =>
    createAbuseLimits({ increment: createMemoryIncrement({ now: clock.now }), now: clock.now, budgets });

  test("/register defaults: 10 a minute per caller; another caller is unaffected", async () => {
    const clock = fakeClock(0);
    const { register } = limits(clock);
    for (let i = 0; i < 10; i++) assert.equal((await register.hit("198.51.100.1")).allowed, true);
    assert.deepEqual(await register.hit("198.51.100.1"), { allowed: false, retryAfterSec: 60 });
    assert.equal((await register.hit("198.51.100.2")).allowed, true, "another caller is unaffected");
    clock.advance(60_000);
    assert.equal((await register.hit("198.51.100.1")).allowed, true);
  });

  test("/register: one caller spending its whole budget all hour leaves the overall budget to others", async () => {
    const clock = fakeClock(0);
    const { register } = limits(clock);
    let granted = 0;
    for (let minute = 0; minute < 60; minute++) {
      for (let i = 0; i < 20; i++) if ((await register.hit("203.0.113.9")).allowed) granted++;
      clock.advance(60_000 - 1);
    }
    assert.equal(granted, DEFAULT_BUDGETS.register.perCaller[1].limit, "the hourly per-caller cap holds");
    assert.ok(granted < (DEFAULT_BUDGETS.register.overall?.limit ?? 0));
    assert.equal((await register.hit("198.51.100.7")).allowed, true);
  });

  test("requests refused per caller do not spend the overall budget", async () => {
    const clock = fakeClock(0);
    const { register } = limits(clock, {
      register: { perCaller: [{ limit: 1, windowSec: 60 }], overall: { limit: 2, windowSec: 3600 } },
    });
    assert.equal((await register.hit("noisy")).allowed, true);
    for (let i = 0; i < 50; i++) assert.equal((await register.hit("noisy")).allowed, false);
    assert.equal(
      (await register.hit("quiet")).allowed,
      true,
      "the noisy caller did not exhaust the overall window",
    );
    assert.equal((await register.hit("third")).allowed, false);
  });

  test("each endpoint has its own budget, and a budget is a parameter", async () => {
    const clock = fakeClock(0);
    const l = limits(clock, { token: { perCaller: [{ limit: 2, windowSec: 60 }] } });
    assert.equal((await l.token.hit("a")).allowed, true);
    assert.equal((await l.token.hit("a")).allowed, true);
    assert.equal((await l.token.hit("a")).allowed, false);
    assert.equal((await l.authorize.hit("a")).allowed, true, "/authorize counts apart from /token");
  });
});

describe("callerKey: a key the caller cannot choose", () => {
  test("IPv4 as is, with or without the front end's port, and IPv4-mapped", () => {
    assert.equal(callerKey("203.0.113.7"), "203.0.113.7");
    assert.equal(callerKey("203.0.113.7:51234"), "203.0.113.7");
    assert.equal(callerKey("::ffff:203.0.113.7"), "203.0.113.7");
  });
  test("IPv6 as its /64 (one host holds the whole prefix), with or without brackets and port", () => {
    assert.equal(callerKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    assert.equal(callerKey("[2001:db8:1:2:bbbb::9]:443"), "2001:db8:1:2::/64");
  });
  test("anything else is one shared key, never the raw text", () => {
    assert.equal(callerKey(undefined), "unknown");
    assert.equal(callerKey("evil, 1.2.3.4"), "unknown");
    assert.equal(callerKey("x".repeat(500)), "unknown");
  });
});
