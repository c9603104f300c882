/**
 * The SSE backplane on the server's `Store` (one Azure table, Azurite locally), for several instances.
 *
 * Rows (PartitionKey = kind, RowKey = id in the Table layout of `store/tables.ts`):
 *
 * | kind | id | value | life |
 * | --- | --- | --- | --- |
 * | `sse-session` | session id | `{ owner }` (`tid:oid`) | `recordTtlSec`, refreshed by the stream's heartbeat |
 * | `sse-owner` | `tid:oid` | `{ sessions: [ids] }`: the per-user limit, kept with conditional writes | one counter window |
 * | `sse-seq` | session id | the session's message counter (`Store.increment`) | one counter window |
 * | `sse-msg.<session id>` | `<seq>` and `<seq>.<part>` | a message, base64 in chunks under the 32 Ki limit | `messageTtlSec` |
 *
 * A publisher takes the next sequence number from the session's counter, writes the parts and then the
 * head row (so a head means a complete message). The stream's instance reads the head it expects next,
 * delivers it, and deletes the rows. A number taken by a publisher that died before writing is skipped
 * after `gapTimeoutMs`. A message published on the stream's own instance is handed over directly,
 * without storage.
 *
 * How often the stream's instance reads, and what that costs (Table Storage bills every transaction):
 *
 * - **Active**, for `activeMs` (10 s) after the stream opened or last got a message: it reads the next
 *   head every `minPollMs` (50 ms) right after a message, slowing to every `maxPollMs` (250 ms), and the
 *   counter at most once a second (to notice a number never written). A conversation (request, answer,
 *   next request within 10 s) gets each answer within 250 ms of its publication, as before idle back-off
 *   existed. This costs at most about 50 reads after each message.
 * - **Idle**, after that: it reads only the session's counter, which every publisher increments before
 *   writing, so that one row tells whether anything was published; the interval keeps growing by half, up
 *   to `idlePollMs` (2 s). When the counter shows a new number it reads the head at once, and the stream
 *   is active again. An idle stream costs **50 transactions a minute**: 30 counter reads and the 20
 *   heartbeat writes (`heartbeatMs`, 3 s) that keep its record alive; polling the head every 250 ms cost
 *   320 (240 head reads, 60 counter reads, 20 heartbeats).
 * - **The first message after idleness** waits for the next counter read: **at most 2 s** (`idlePollMs`)
 *   plus two storage reads more than on an active stream. Instances cannot call each other (Azure
 *   Functions instances are not addressable), so only a read can tell the stream's instance; a publisher
 *   waiting or writing a mark would not make that read come sooner. 2 s keeps the polls (30 a minute)
 *   of the order of the heartbeats an open stream costs anyway, and the wait short next to a tool call's
 *   own time. A message handed over on the stream's own instance makes the stream active too: the next
 *   request of that conversation may land on another instance.
 *
 * The per-session partition keeps one busy session from throttling the others (Table Storage's limits are
 * per partition). Everything expires: rows of a crashed instance read as absent once their time passes and
 * the sweep timer removes them.
 *
 * @module
 */
import { base64, fromBase64 } from "../core/encoding.ts";
import type { Logger } from "../core/log.ts";
import { type Store, StoreConflictError } from "../store/store.ts";
import { type Backplane, type SessionHandlers, SessionLimitError, type Subscription } from "./backplane.ts";

export interface StoreBackplaneOptions {
  maxSessionsPerOwner: number;
  /** The longest a session lives (the stream ends then); message counters must outlive it. */
  maxSessionLifetimeMs: number;
  logger: Logger;
  /** How long a session record stays readable without a heartbeat. */
  recordTtlSec?: number;
  heartbeatMs?: number;
  /** Reads right after a message for the stream… */
  minPollMs?: number;
  /** …slowing to this interval while the stream is active… */
  maxPollMs?: number;
  /** …which it is for this long after its last message… */
  activeMs?: number;
  /** …and then to this interval while it is idle (the bound on the first message's extra wait). */
  idlePollMs?: number;
  messageTtlSec?: number;
  gapTimeoutMs?: number;
  now?: () => number;
}

const SESSION = "sse-session";
const OWNER = "sse-owner";
const SEQ = "sse-seq";
const msgKind = (sessionId: string) => `sse-msg.${sessionId}`;
/** Base64 characters per row: with the JSON around it, well under the store's 32 Ki character limit. */
const CHUNK = 30_000;

interface Local {
  owner: string;
  handlers: SessionHandlers;
  /** Something happened on the session: poll as for an active stream. */
  wake: () => void;
  stop: () => void;
}

export class StoreBackplane implements Backplane {
  readonly #store: Store;
  readonly #local = new Map<string, Local>();
  readonly #opts: Required<Omit<StoreBackplaneOptions, "logger">> & { logger: Logger };
  readonly #counterWindowSec: number;

  constructor(store: Store, opts: StoreBackplaneOptions) {
    this.#store = store;
    this.#opts = {
      // A crashed instance's sessions stop counting against their user's limit within `recordTtlSec`:
      // short, with a heartbeat several times within it so that one slow storage call does not drop a stream.
      recordTtlSec: 10,
      heartbeatMs: 3_000,
      minPollMs: 50,
      maxPollMs: 250,
      activeMs: 10_000,
      idlePollMs: 2_000,
      messageTtlSec: 300,
      gapTimeoutMs: 10_000,
      now: Date.now,
      ...opts,
    };
    // A counter restarts when its window closes; sessions end long before that.
    this.#counterWindowSec = Math.ceil((2 * opts.maxSessionLifetimeMs) / 1000) + 3600;
  }

  async open(sessionId: string, owner: string, handlers: SessionHandlers): Promise<Subscription> {
    const { recordTtlSec } = this.#opts;
    let etag = (
      await this.#store.put(SESSION, sessionId, { owner }, { ttlSec: recordTtlSec, ifAbsent: true })
    ).etag;
    try {
      await this.#addToOwner(owner, sessionId);
    } catch (err) {
      await this.#store.delete(SESSION, sessionId).catch(() => {});
      throw err;
    }

    let stopped = false;
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const later = (fn: () => void, ms: number) => {
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopped) fn();
      }, ms);
      timers.add(t);
      return t;
    };
    const stop = () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    };

    const heartbeat = async () => {
      try {
        etag = (await this.#store.put(SESSION, sessionId, { owner }, { ttlSec: recordTtlSec, ifMatch: etag }))
          .etag;
      } catch (err) {
        if (err instanceof StoreConflictError) {
          if (!stopped) handlers.lost("the session record was removed");
          return;
        }
        this.#opts.logger.warn("sse heartbeat failed", {
          session: sessionId.slice(0, 8),
          error: errText(err),
        });
      }
      later(heartbeat, this.#opts.heartbeatMs);
    };
    later(heartbeat, this.#opts.heartbeatMs);

    const o = this.#opts;
    let next = 1;
    /** The counter's value when last read: numbers up to it are published, or being written. */
    let seen = 0;
    let activeAt = o.now();
    let delay = o.minPollMs;
    let gapSince: number | undefined;
    let counterCheckedAt = 0;
    let errorLoggedAt = 0;
    /** The next poll, while one waits (none while a poll runs). */
    let waiting: { timer: ReturnType<typeof setTimeout>; at: number } | undefined;
    const schedule = (ms: number) => {
      waiting = {
        at: o.now() + ms,
        timer: later(() => {
          waiting = undefined;
          void poll();
        }, ms),
      };
    };
    const isActive = () => o.now() - activeAt < o.activeMs || seen >= next;
    const readCounter = async () => {
      counterCheckedAt = o.now();
      const count = (await this.#store.get<{ count: number }>(SEQ, sessionId))?.value.count ?? 0;
      // A publisher took a new number and is writing its message: read for it as for an active stream.
      if (count >= next && seen < next) delay = o.minPollMs;
      seen = count;
    };
    const poll = async () => {
      try {
        // Idle, the counter alone tells whether anything was published: one read.
        if (!isActive()) await readCounter();
        if (isActive()) {
          const text = await this.#take(sessionId, next);
          if (text !== undefined) {
            next++;
            gapSince = undefined;
            activeAt = o.now();
            delay = o.minPollMs;
            if (text !== null && !stopped) handlers.message(text);
            schedule(0);
            return;
          }
          if (seen < next && o.now() - counterCheckedAt >= 1000) await readCounter();
          if (seen >= next) {
            // A publisher took this number; give it time to write, then skip a number it never wrote.
            const now = o.now();
            gapSince ??= now;
            if (now - gapSince >= o.gapTimeoutMs) {
              o.logger.warn("sse message never written; skipping it", {
                session: sessionId.slice(0, 8),
                seq: next,
              });
              next++;
              gapSince = undefined;
              schedule(0);
              return;
            }
          } else gapSince = undefined;
        }
      } catch (err) {
        const now = o.now();
        if (now - errorLoggedAt > 30_000) {
          errorLoggedAt = now;
          o.logger.warn("sse poll failed", { session: sessionId.slice(0, 8), error: errText(err) });
        }
        delay = Math.max(delay, o.maxPollMs);
      }
      schedule(delay);
      delay = Math.min(Math.ceil(delay * 1.5), isActive() ? o.maxPollMs : o.idlePollMs);
    };
    const wake = () => {
      activeAt = o.now();
      delay = o.minPollMs;
      if (waiting && waiting.at - o.now() > o.minPollMs) {
        clearTimeout(waiting.timer);
        timers.delete(waiting.timer);
        schedule(o.minPollMs);
      }
    };
    this.#local.set(sessionId, { owner, handlers, wake, stop });
    schedule(0);

    return { close: () => this.close(sessionId) };
  }

  async owner(sessionId: string): Promise<string | undefined> {
    const local = this.#local.get(sessionId);
    if (local) return local.owner;
    return (await this.#store.get<{ owner: string }>(SESSION, sessionId))?.value.owner;
  }

  async publish(sessionId: string, message: string): Promise<void> {
    const local = this.#local.get(sessionId);
    if (local) {
      local.wake();
      local.handlers.message(message);
      return;
    }
    const seq = await this.#store.increment(SEQ, sessionId, this.#counterWindowSec);
    const encoded = base64(new TextEncoder().encode(message));
    const parts: string[] = [];
    for (let i = 0; i < encoded.length; i += CHUNK) parts.push(encoded.slice(i, i + CHUNK));
    if (!parts.length) parts.push("");
    const ttlSec = this.#opts.messageTtlSec;
    const kind = msgKind(sessionId);
    await Promise.all(
      parts.slice(1).map((d, i) => this.#store.put(kind, `${seq}.${i + 1}`, { d }, { ttlSec })),
    );
    await this.#store.put(kind, String(seq), { n: parts.length, d: parts[0] }, { ttlSec });
  }

  async close(sessionId: string): Promise<void> {
    const local = this.#local.get(sessionId);
    if (!local) return;
    this.#local.delete(sessionId);
    local.stop();
    const results = await Promise.allSettled([
      this.#store.delete(SESSION, sessionId),
      this.#removeFromOwner(local.owner, sessionId),
      this.#store.delete(SEQ, sessionId),
    ]);
    for (const r of results) {
      if (r.status === "rejected") {
        this.#opts.logger.warn("sse session cleanup incomplete; rows expire on their own", {
          session: sessionId.slice(0, 8),
          error: errText(r.reason),
        });
      }
    }
  }

  /**
   * The message with this sequence number: its text, `null` if its parts are gone (skipped), or
   * `undefined` if it is not there (yet). Delivered rows are deleted in the background.
   */
  async #take(sessionId: string, seq: number): Promise<string | null | undefined> {
    const kind = msgKind(sessionId);
    const head = await this.#store.get<{ n: number; d: string }>(kind, String(seq));
    if (!head) return undefined;
    const ids = Array.from({ length: head.value.n - 1 }, (_, i) => `${seq}.${i + 1}`);
    const parts = await Promise.all(ids.map((id) => this.#store.get<{ d: string }>(kind, id)));
    void Promise.all([String(seq), ...ids].map((id) => this.#store.delete(kind, id))).catch(() => {});
    if (parts.some((p) => !p)) {
      this.#opts.logger.warn("sse message incomplete; skipping it", { session: sessionId.slice(0, 8), seq });
      return null;
    }
    return new TextDecoder().decode(fromBase64(head.value.d + parts.map((p) => p?.value.d ?? "").join("")));
  }

  /** Adds the session to the owner's list, unless the owner is at the limit (live sessions only). */
  async #addToOwner(owner: string, sessionId: string): Promise<void> {
    await this.#updateOwner(owner, async (sessions) => {
      const live = await this.#liveOnly(sessions.filter((s) => s !== sessionId));
      if (live.length >= this.#opts.maxSessionsPerOwner)
        throw new SessionLimitError(this.#opts.maxSessionsPerOwner);
      return [...live, sessionId];
    });
  }

  async #removeFromOwner(owner: string, sessionId: string): Promise<void> {
    await this.#updateOwner(owner, async (sessions) => sessions.filter((s) => s !== sessionId));
  }

  async #liveOnly(sessions: string[]): Promise<string[]> {
    const records = await Promise.all(sessions.map((s) => this.#store.get(SESSION, s)));
    return sessions.filter((_, i) => records[i] !== undefined);
  }

  /** Read-modify-write of the owner's list with conditional writes, retried when another instance wins. */
  async #updateOwner(owner: string, change: (sessions: string[]) => Promise<string[]>): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const entry = await this.#store.get<{ sessions: string[] }>(OWNER, owner);
      const sessions = await change(entry?.value.sessions ?? []);
      try {
        if (!sessions.length) {
          if (entry) await this.#store.delete(OWNER, owner, { ifMatch: entry.etag });
          return;
        }
        const ttlSec = this.#counterWindowSec;
        await this.#store.put(
          OWNER,
          owner,
          { sessions },
          entry ? { ttlSec, ifMatch: entry.etag } : { ttlSec, ifAbsent: true },
        );
        return;
      } catch (err) {
        if (!(err instanceof StoreConflictError)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * (attempt + 1)));
      }
    }
    throw new Error(`Could not update the SSE sessions of ${owner}: too much contention`);
  }

  /** Sessions whose stream is on this instance (for tests and diagnostics). */
  get size(): number {
    return this.#local.size;
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
