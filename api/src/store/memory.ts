/**
 * An in-memory `Store` for unit tests and single-process experiments.
 *
 * It copies the Table Storage implementation's limits on purpose, so code that passes against it
 * passes against Azure: values go through JSON and the same size check, expired rows stay until
 * `sweep` (they just read as absent), conditional writes fail the same way, and every call yields to
 * the event loop first so concurrent callers interleave as they would over the network. The clock is
 * injectable so tests can expire rows without waiting.
 *
 * @module
 */
import {
  assertKey,
  type Entry,
  expiryOf,
  incrementWithRetries,
  type Kind,
  MAX_LIST_ROWS,
  type PutOptions,
  type Store,
  StoreConflictError,
  serializeValue,
} from "./store.ts";

export interface MemoryStoreOptions {
  /** The clock, in ms since the epoch (`Date.now` by default). */
  now?: () => number;
}

interface Row {
  json: string;
  etag: string;
  expiresAt: number;
}

export class MemoryStore implements Store {
  readonly #rows = new Map<string, Row>();
  readonly #now: () => number;
  #version = 0;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#now = opts.now ?? Date.now;
  }

  /** Rows held, expired or not (for tests). */
  get size(): number {
    return this.#rows.size;
  }

  async get<T>(kind: Kind, id: string): Promise<Entry<T> | undefined> {
    assertKey(kind, id);
    await yieldTurn();
    const row = this.#rows.get(keyOf(kind, id));
    if (!row || row.expiresAt <= this.#now()) return undefined;
    return { value: JSON.parse(row.json) as T, etag: row.etag, expiresAt: row.expiresAt };
  }

  async put<T>(kind: Kind, id: string, value: T, opts: PutOptions): Promise<{ etag: string }> {
    assertKey(kind, id);
    const json = serializeValue(kind, id, value);
    const expiresAt = expiryOf(this.#now(), opts.ttlSec);
    await yieldTurn();
    const key = keyOf(kind, id);
    const existing = this.#rows.get(key);
    if (opts.ifAbsent && existing && existing.expiresAt > this.#now()) {
      throw new StoreConflictError(kind, id, "a live row already exists");
    }
    if (opts.ifMatch !== undefined && existing?.etag !== opts.ifMatch) {
      throw new StoreConflictError(kind, id, existing ? "the row changed" : "the row is gone");
    }
    const etag = `W/"${++this.#version}"`;
    this.#rows.set(key, { json, etag, expiresAt });
    return { etag };
  }

  async delete(kind: Kind, id: string, opts: { ifMatch?: string } = {}): Promise<boolean> {
    assertKey(kind, id);
    await yieldTurn();
    const key = keyOf(kind, id);
    const existing = this.#rows.get(key);
    if (!existing) return false;
    if (opts.ifMatch !== undefined && existing.etag !== opts.ifMatch) {
      throw new StoreConflictError(kind, id, "the row changed");
    }
    this.#rows.delete(key);
    return true;
  }

  async list<T>(kind: Kind, prefix: string, opts: { limit?: number } = {}) {
    assertKey(kind, prefix);
    await yieldTurn();
    const limit = Math.min(opts.limit ?? MAX_LIST_ROWS, MAX_LIST_ROWS);
    const at = this.#now();
    const start = keyOf(kind, prefix);
    const out: Array<Entry<T> & { id: string }> = [];
    for (const key of [...this.#rows.keys()].filter((k) => k.startsWith(start)).sort()) {
      const row = this.#rows.get(key)!;
      if (row.expiresAt <= at) continue;
      out.push({
        id: key.slice(kind.length + 1),
        value: JSON.parse(row.json) as T,
        etag: row.etag,
        expiresAt: row.expiresAt,
      });
      if (out.length >= limit) break;
    }
    return out;
  }

  increment(kind: Kind, id: string, windowSec: number): Promise<number> {
    return incrementWithRetries(this, kind, id, windowSec, { now: this.#now });
  }

  async sweep(now = this.#now()): Promise<number> {
    await yieldTurn();
    let removed = 0;
    for (const [key, row] of this.#rows) {
      if (row.expiresAt <= now) {
        this.#rows.delete(key);
        removed++;
      }
    }
    return removed;
  }
}

const keyOf = (kind: Kind, id: string) => `${kind}\u0000${id}`;

// A macrotask, not a microtask: lets other pending callers (and their timers) run in between.
const yieldTurn = () => new Promise<void>((r) => setTimeout(r, 0));
