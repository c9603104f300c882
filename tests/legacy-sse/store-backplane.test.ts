/**
 * The Store backplane, with two backplanes on one `MemoryStore` standing in for two server instances on
 * one table (the Table Storage implementation is exercised end to end in `instances.test.ts`): messages
 * published on one instance reach the stream held by the other, intact and in order; the per-user limit
 * counts both; sessions close, expire and get lost the way a POST on another instance would notice.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { eventually } from "@entra-mcp/testing/wait";
import type { Logger } from "../../api/src/core/log.ts";
import {
  type SessionHandlers,
  SessionLimitError,
  type Subscription,
} from "../../api/src/legacy-sse/backplane.ts";
import { StoreBackplane, type StoreBackplaneOptions } from "../../api/src/legacy-sse/store-backplane.ts";
import { MemoryStore } from "../../api/src/store/memory.ts";

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
