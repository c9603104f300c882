/**
 * A bounded in-memory cache whose entries expire: what one instance remembers between requests (verified
 * tokens, grant rows). When full, the least recently used entry goes first. Concurrent loads of one key
 * share one promise, so a burst of requests for a missing entry costs one load, not one each.
 *
 * Nothing here is shared between instances: whoever caches says how stale an entry may be, and that
 * bound is the whole promise.
 *
 * @module
 */

export interface ExpiringCacheOptions {
  /** Most entries kept; the least recently used is evicted first. */
  maxEntries: number;
  now?: () => number;
}

export class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  readonly #loading = new Map<string, Promise<V>>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(opts: ExpiringCacheOptions) {
    this.#max = Math.max(1, opts.maxEntries);
    this.#now = opts.now ?? Date.now;
  }

  /** The entry under `key` while it lives (ms since the epoch, exclusive). */
  get(key: string): V | undefined {
    const hit = this.#entries.get(key);
    if (!hit) return undefined;
    if (this.#now() >= hit.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    // Most recently used last: eviction takes the first.
    this.#entries.delete(key);
    this.#entries.set(key, hit);
    return hit.value;
  }

  /**
   * Keeps `value` until `expiresAt` (ms since the epoch); an entry already expired is not kept. What a
   * load of `key` still in flight would have kept is dropped: this value is newer.
   */
  set(key: string, value: V, expiresAt: number): void {
    this.#loading.delete(key);
    this.#entries.delete(key);
    if (expiresAt <= this.#now()) return;
    this.#entries.set(key, { value, expiresAt });
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  /** Forgets `key`, and what a load of it still in flight would have kept. */
  delete(key: string): void {
    this.#entries.delete(key);
    this.#loading.delete(key);
  }

  /**
   * The live entry, or the result of `load`, kept until the time it names. Concurrent callers for one key
   * share one load; a failed load is not kept (the next caller loads again), nor one that `delete`
   * overtook (it read what was true before the change that deleted it).
   */
  async getOrLoad(key: string, load: () => Promise<{ value: V; expiresAt: number }>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const joined = this.#loading.get(key);
    if (joined) return joined;
    const pending: Promise<V> = load().then(
      ({ value, expiresAt }) => {
        if (this.#loading.get(key) === pending) this.set(key, value, expiresAt);
        return value;
      },
      (err: unknown) => {
        if (this.#loading.get(key) === pending) this.#loading.delete(key);
        throw err;
      },
    );
    this.#loading.set(key, pending);
    return pending;
  }

  get size(): number {
    return this.#entries.size;
  }
}
