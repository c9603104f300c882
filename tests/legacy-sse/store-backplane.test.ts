/**
 * The Store backplane, with two backplanes on one `MemoryStore` standing in for two server instances on
 * one table (the Table Storage implementation is exercised end to end in `instances.test.ts`): messages
 * published on one instance reach the stream held by the other, intact and in order; the per-user limit
 * counts both; sessions close, expire and get lost the way a POST on another instance would notice.
 * Then, with the default timings on a mocked clock and a store that counts its transactions: what an idle
 * stream costs a minute, how late the first message after idleness can arrive, and that an active
 * stream's messages are not slowed by the idle back-off.
 */
import assert from "node:assert/strict";
import { after, describe, type MockTimers, test } from "node:test";
import { eventually } from "@entra-mcp/testing/wait";
import type { Logger } from "../../api/src/core/log.ts";
import {
  type SessionHandlers,
  SessionLimitError,
  type Subscription,
} from "../../api/src/legacy-sse/backplane.ts";
import { StoreBackplane, type StoreBackplaneOptions } from "../../api/src/legacy-sse/store-backplane.ts";
import { MemoryStore } from "../../api/src/store/memory.ts";
import type { PutOptions } from "../../api/src/store/store.ts";

const ADELE = "tenant:adele";
const ALEX = "tenant:alex";
const warnings: string[] = [];
const logger: Logger = { info() {}, warn: (msg) => warnings.push(msg), error: (msg) => warnings.push(msg) };

const subscriptions: Subscription[] = [];
after(async () => {
  for (const s of subscriptions) await s.close();
});

function instances(store: MemoryStore, opts: Partial<StoreBackplaneOptions> = {}) {
  const make = () =>
    new StoreBackplane(store, {
      maxSessionsPerOwner: 3,
      maxSessionLifetimeMs: 60_000,
      logger,
      minPollMs: 10,
      maxPollMs: 40,
      ...opts,
    });
  return [make(), make()] as const;
}

function inbox() {
  const messages: string[] = [];
  const lost: string[] = [];
  const handlers: SessionHandlers = { message: (m) => messages.push(m), lost: (r) => lost.push(r) };
  return { messages, lost, handlers };
}

let n = 0;
const sid = () => `session${String(++n).padStart(25, "0")}`;

async function open(bp: StoreBackplane, id: string, owner: string, handlers: SessionHandlers) {
  const sub = await bp.open(id, owner, handlers);
  subscriptions.push(sub);
  return sub;
}

describe("StoreBackplane", () => {
  test("a message published on another instance reaches the stream's instance, in order, exactly once", async () => {
    const [a, b] = instances(new MemoryStore());
    const id = sid();
    const box = inbox();
    await open(a, id, ADELE, box.handlers);
    assert.equal(await b.owner(id), ADELE, "the other instance sees who owns the session");
    for (let i = 1; i <= 5; i++) await b.publish(id, JSON.stringify({ jsonrpc: "2.0", id: i, result: {} }));
    await eventually(() => box.messages.length >= 5, "five messages");
    assert.deepEqual(
      box.messages.map((m) => (JSON.parse(m) as { id: number }).id),
      [1, 2, 3, 4, 5],
    );
    // Concurrent publishers each get their own sequence number: nothing is lost or doubled.
    await Promise.all([6, 7, 8, 9].map((i) => b.publish(id, JSON.stringify({ id: i }))));
    await eventually(() => box.messages.length >= 9, "four more messages");
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      box.messages
        .slice(5)
        .map((m) => (JSON.parse(m) as { id: number }).id)
        .sort(),
      [6, 7, 8, 9],
    );
  });

  test("a large message (beyond one row) with non-ASCII text arrives intact", async () => {
    const [a, b] = instances(new MemoryStore());
    const id = sid();
    const box = inbox();
    await open(a, id, ADELE, box.handlers);
    const text = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      result: { data: "Grüße, 世界 🚀 ".repeat(12_000) },
    });
    assert.ok(text.length > 150_000);
    await b.publish(id, text);
    await eventually(() => box.messages.length === 1, "the large message");
    assert.equal(box.messages[0], text);
  });

  test("the per-user limit counts sessions on every instance; a closed session frees its slot", async () => {
    const [a, b] = instances(new MemoryStore());
    const ids = [sid(), sid(), sid()];
    const subs = [
      await open(a, ids[0], ADELE, inbox().handlers),
      await open(b, ids[1], ADELE, inbox().handlers),
      await open(a, ids[2], ADELE, inbox().handlers),
    ];
    await assert.rejects(b.open(sid(), ADELE, inbox().handlers), SessionLimitError);
    // Another user is not affected.
    await open(b, sid(), ALEX, inbox().handlers);

    await subs[1].close();
    assert.equal(await a.owner(ids[1]), undefined, "the closed session is gone for every instance");
    await open(a, sid(), ADELE, inbox().handlers);
  });

  test("a session whose instance died expires: unknown to others, and no longer counted", async () => {
    let clock = Date.now();
    const store = new MemoryStore({ now: () => clock });
    const [a, b] = instances(store, { maxSessionsPerOwner: 1, recordTtlSec: 60, heartbeatMs: 3_600_000 });
    const id = sid();
    const sub = await open(a, id, ADELE, inbox().handlers);
    await assert.rejects(b.open(sid(), ADELE, inbox().handlers), SessionLimitError);
    clock += 61_000; // no heartbeat for longer than the record lives
    assert.equal(await b.owner(id), undefined);
    await open(b, sid(), ADELE, inbox().handlers);
    await sub.close();
  });

  test("a sequence number taken by a publisher that never wrote is skipped after the gap timeout", async () => {
    const store = new MemoryStore();
    const [a, b] = instances(store, { gapTimeoutMs: 200 });
    const id = sid();
    const box = inbox();
    await open(a, id, ADELE, box.handlers);
    await store.increment("sse-seq", id, 3600); // a publisher took number 1 and died
    await b.publish(id, '{"id":2}');
    await eventually(() => box.messages.length === 1, "the message after the gap");
    assert.deepEqual(box.messages, ['{"id":2}']);
    assert.ok(warnings.some((w) => /never written/.test(w)));
  });

  test("the stream's instance learns when its session record is removed", async () => {
    const store = new MemoryStore();
    const [a] = instances(store, { heartbeatMs: 30 });
    const id = sid();
    const box = inbox();
    await open(a, id, ADELE, box.handlers);
    await store.delete("sse-session", id);
    await eventually(() => box.lost.length === 1, "the session to be reported lost");
  });

  test("a message published on the stream's own instance is handed over without storage", async () => {
    const store = new MemoryStore();
    const [a] = instances(store);
    const id = sid();
    const box = inbox();
    await open(a, id, ADELE, box.handlers);
    const rows = store.size;
    await a.publish(id, '{"id":1}');
    assert.deepEqual(box.messages, ['{"id":1}']);
    assert.equal(store.size, rows);
  });
});

/** A `MemoryStore` that counts its storage transactions (Table Storage bills each one). */
class CountingStore extends MemoryStore {
  reads = 0;
  writes = 0;
  override get<T>(kind: string, id: string) {
    this.reads++;
    return super.get<T>(kind, id);
  }
  override put<T>(kind: string, id: string, value: T, opts: PutOptions) {
    this.writes++;
    return super.put(kind, id, value, opts);
  }
  override delete(kind: string, id: string, opts?: { ifMatch?: string }) {
    this.writes++;
    return super.delete(kind, id, opts);
  }
  get transactions() {
    return this.reads + this.writes;
  }
}

describe("StoreBackplane, idle and active streams (default timings, on a mocked clock)", () => {
  const STEP = 5;
  /** Runs the mocked clock forward in small steps, letting the storage calls each step starts settle. */
  async function advance(timers: MockTimers, ms: number, until?: () => boolean): Promise<number> {
    for (let t = 0; t < ms; t += STEP) {
      if (until?.()) return t;
      timers.tick(STEP);
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    }
    if (until && !until()) throw new Error(`not within ${ms} ms`);
    return ms;
  }

  /** Awaits a storage call while the mocked clock runs (the store yields through timers). */
  async function settle<T>(timers: MockTimers, promise: Promise<T>): Promise<T> {
    let done = false;
    const settled = promise.finally(() => {
      done = true;
    });
    await advance(timers, 1_000, () => done);
    return settled;
  }

  async function setUp(timers: MockTimers) {
    timers.enable({ apis: ["setTimeout", "Date"], now: 1_800_000_000_000 });
    const store = new CountingStore({ now: () => Date.now() });
    const make = () =>
      new StoreBackplane(store, {
        maxSessionsPerOwner: 3,
        maxSessionLifetimeMs: 3_600_000,
        logger,
        now: () => Date.now(),
      });
    const [a, b] = [make(), make()];
    const id = sid();
    const box = inbox();
    const sub = await settle(timers, a.open(id, ADELE, box.handlers));
    /** Publishes on the other instance; resolves with the ms (mocked) until the stream got it. */
    const viaB = async (text: string) => {
      const before = box.messages.length;
      const published = b.publish(id, text);
      const ms = await advance(timers, 20_000, () => box.messages.length > before);
      await published;
      assert.equal(box.messages.at(-1), text);
      return ms;
    };
    return { store, a, id, box, sub, viaB };
  }

  test("an idle stream costs at most 50 storage transactions a minute: 30 counter reads, 20 heartbeats", async (t) => {
    const { store, sub } = await setUp(t.mock.timers);
    await advance(t.mock.timers, 30_000); // active for 10 s after it opened, then backing off
    store.reads = 0;
    store.writes = 0;
    await advance(t.mock.timers, 60_000);
    assert.ok(store.reads <= 30, `${store.reads} reads in an idle minute`);
    assert.ok(store.writes <= 20, `${store.writes} writes in an idle minute`);
    assert.ok(store.transactions >= 45, "it still polls and heartbeats (or a message would never arrive)");
    // Ten idle minutes cost ten times as much, no more: the interval does not keep shrinking or growing.
    store.reads = 0;
    store.writes = 0;
    await advance(t.mock.timers, 600_000, undefined);
    assert.ok(store.transactions <= 500, `${store.transactions} transactions in ten idle minutes`);
    await settle(t.mock.timers, sub.close());
  });

  test("the first message after idleness waits at most 2 s, even published just after a poll", async (t) => {
    const { store, sub, viaB, box } = await setUp(t.mock.timers);
    await advance(t.mock.timers, 60_000);
    // The worst moment: right after the stream's instance read the counter.
    const reads = store.reads;
    await advance(t.mock.timers, 5_000, () => store.reads > reads);
    const waited = await viaB('{"id":1}');
    assert.ok(waited <= 2_000 + 2 * STEP, `delivered after ${waited} ms`);
    assert.ok(waited >= 1_000, `published just after a poll yet delivered after ${waited} ms`);
    assert.deepEqual(box.messages, ['{"id":1}']);
    await settle(t.mock.timers, sub.close());
  });

  test("an active stream gets each message within 250 ms, at any pace up to one every 10 s", async (t) => {
    const { sub, viaB, box } = await setUp(t.mock.timers);
    await advance(t.mock.timers, 60_000);
    await viaB('{"id":0}'); // wakes the idle stream
    // A conversation: request, answer, the next request some seconds later…
    const pauses = [0, 100, 1_000, 3_000, 6_000, 9_500, 500, 9_500];
    const waits: number[] = [];
    for (const [i, pause] of pauses.entries()) {
      await advance(t.mock.timers, pause);
      waits.push(await viaB(JSON.stringify({ id: i + 1 })));
    }
    for (const w of waits) assert.ok(w <= 250 + 2 * STEP, `waits: ${waits.join(", ")} ms`);
    assert.equal(box.messages.length, pauses.length + 1, "each message once, in order");
    assert.deepEqual(
      box.messages.map((m) => (JSON.parse(m) as { id: number }).id),
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    );
    await settle(t.mock.timers, sub.close());
  });

  test("a message handed over on the stream's own instance makes the idle stream active again", async (t) => {
    const { a, id, sub, viaB } = await setUp(t.mock.timers);
    await advance(t.mock.timers, 60_000);
    await settle(t.mock.timers, a.publish(id, '{"id":1}')); // this POST landed on the stream's instance; the next one does not
    await advance(t.mock.timers, 2_000);
    const waited = await viaB('{"id":2}');
    assert.ok(waited <= 250 + 2 * STEP, `delivered after ${waited} ms`);
    await settle(t.mock.timers, sub.close());
  });
  test("an idle stream skips a number a publisher took and never wrote, as an active one does", async (t) => {
    const { store, id, sub, viaB, box } = await setUp(t.mock.timers);
    await advance(t.mock.timers, 60_000);
    await settle(t.mock.timers, store.increment("sse-seq", id, 3600)); // a publisher took number 1 and died
    const waited = await viaB('{"id":2}');
    assert.ok(waited <= 10_000 + 2_000 + 2 * STEP, `delivered after ${waited} ms`);
    assert.deepEqual(box.messages, ['{"id":2}']);
    await settle(t.mock.timers, sub.close());
  });
});
