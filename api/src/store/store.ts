/**
 * The `Store`: the small key-value contract all proxy-mode state goes through.
 *
 * Several server instances share one store (one Azure table), so every write that decides something
 * (a single-use code is spent, a refresh token is rotated, two processes create the same key) is a
 * conditional write: `ifAbsent` (create, fail if a live row exists) or `ifMatch` (replace or delete only
 * the version the caller read). A failed condition throws `StoreConflictError`; the loser re-reads.
 *
 * Rows are addressed by `kind` (a fixed family: `client`, `code`, `refresh` …) and `id` (a hash or a
 * GUID; implementations encode anything their backend can't take as a key). Every row has a time to
 * live: expired rows read as absent and are removed by `sweep`. Values are JSON objects whose
 * serialized form (ASCII, non-ASCII characters escaped) must stay under `MAX_VALUE_CHARS`, the Table
 * Storage string limit, on every backend alike so that what passes in unit tests also passes in Azure.
 *
 * @module
 */

export type Kind =
  | "client"
  | "pending"
  | "code"
  | "grant"
  | "refresh"
  | "consent"
  | "key"
  | "ratelimit"
  | "gidx"
  | (string & {});

export interface Entry<T> {
  value: T;
  /** Opaque version tag; pass it back as `ifMatch` to write or delete only this version. */
  etag: string;
  /** When the row stops being readable, in ms since the epoch (`NEVER` for rows without expiry). */
  expiresAt: number;
}

export interface PutOptions {
  /** Seconds the row stays readable. `Infinity` keeps it until it is deleted. */
  ttlSec: number;
  /** Create only: fail with `StoreConflictError` if a live (unexpired) row exists. */
  ifAbsent?: boolean;
  /**
   * Replace only the version with this etag: fail with `StoreConflictError` if the row changed or is
   * gone. Etags are compared as is; the caller got this one from a `get` that saw the row live.
   */
  ifMatch?: string;
}

export interface Store {
  /** The live row, or `undefined` if it is missing or expired. */
  get<T>(kind: Kind, id: string): Promise<Entry<T> | undefined>;
  /** Writes a row (unconditionally unless `ifAbsent`/`ifMatch`). Throws `StoreConflictError` on a failed condition. */
  put<T>(kind: Kind, id: string, value: T, opts: PutOptions): Promise<{ etag: string }>;
  /**
   * Removes a row. Returns `false` if there was none. With `ifMatch`, throws `StoreConflictError` if
   * the row is another version, so two callers spending the same single-use row can't both succeed.
   * An expired row that was not swept yet still counts as present.
   */
  delete(kind: Kind, id: string, opts?: { ifMatch?: string }): Promise<boolean>;
  /**
   * Adds one to a fixed-window counter and returns the new count. The window opens at the first hit
   * and lasts `windowSec`; the next hit after it closes starts again at 1. Safe across processes.
   */
  increment(kind: Kind, id: string, windowSec: number): Promise<number>;
  /**
   * The live rows of `kind` whose id starts with `prefix` (non-empty), in id order, at most `limit`
   * (default `MAX_LIST_ROWS`): a range query over one partition on Table Storage. For small indexes
   * only (a user's grants); callers bound what they write under one prefix.
   */
  list<T>(kind: Kind, prefix: string, opts?: { limit?: number }): Promise<Array<Entry<T> & { id: string }>>;
  /** Deletes rows expired at `now` (default: the store's clock) and returns how many. */
  sweep(now?: number): Promise<number>;
}

/** The most rows one `list` returns. */
export const MAX_LIST_ROWS = 1000;

/** A conditional write lost: the row exists (`ifAbsent`) or changed (`ifMatch`). Re-read and decide. */
export class StoreConflictError extends Error {
  readonly kind: Kind;
  readonly id: string;
  constructor(kind: Kind, id: string, reason: string) {
    super(`Store conflict on ${kind}/${id}: ${reason}`);
    this.name = "StoreConflictError";
    this.kind = kind;
    this.id = id;
  }
}

/** A value too large or not a JSON object: a programming error, never retried. */
export class StoreValueError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "StoreValueError";
  }
}

/**
 * Longest serialized value, in UTF-16 code units: Table Storage caps a string property at 64 KiB,
 * stored as UTF-16, so 32 Ki characters.
 */
export const MAX_VALUE_CHARS = 32 * 1024;

/** `expiresAt` of a row that never expires: the largest time a JS `Date` can hold. */
export const NEVER = 8_640_000_000_000_000;

/** Serializes a value for storage, refusing what the table could not hold. */
export function serializeValue(kind: Kind, id: string, value: unknown): string {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new StoreValueError(`Store values must be JSON objects (${kind}/${id})`);
  }
  // ASCII only (non-ASCII as \uXXXX escapes, which JSON.parse reverses): Azurite corrupts a multi-byte
  // character that straddles a 64 KiB chunk of a request body, and sizes then count the same everywhere.
  const json = JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  if (json.length > MAX_VALUE_CHARS) {
    throw new StoreValueError(
      `Store value for ${kind}/${id} is ${json.length} characters serialized; the limit is ${MAX_VALUE_CHARS} ` +
        "(Table Storage's 64 KiB string property). Store less, or split it across rows.",
    );
  }
  return json;
}

/** `expiresAt` for a row written at `now` with `ttlSec`. */
export function expiryOf(now: number, ttlSec: number): number {
  if (ttlSec === Number.POSITIVE_INFINITY) return NEVER;
  if (!Number.isFinite(ttlSec) || ttlSec <= 0) {
    throw new StoreValueError(`ttlSec must be a positive number or Infinity, got ${ttlSec}`);
  }
  return now + Math.ceil(ttlSec * 1000);
}

export function assertKey(kind: Kind, id: string): void {
  if (!kind || !id) throw new StoreValueError(`Store kind and id must be non-empty (${kind}/${id})`);
}

/**
 * `increment` on top of conditional `get`/`put`, shared by every implementation so they agree:
 * create the counter with `ifAbsent`, else bump it with `ifMatch`, and retry with jitter on conflict.
 */
export async function incrementWithRetries(
  store: Pick<Store, "get" | "put">,
  kind: Kind,
  id: string,
  windowSec: number,
  opts: { now: () => number; maxAttempts?: number },
): Promise<number> {
  const maxAttempts = opts.maxAttempts ?? 50;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const current = await store.get<{ count: number }>(kind, id);
    try {
      if (!current) {
        await store.put(kind, id, { count: 1 }, { ttlSec: windowSec, ifAbsent: true });
        return 1;
      }
      const count = current.value.count + 1;
      // Keep the window's end: a counter that moved its expiry on every hit would never reset.
      const ttlSec = (current.expiresAt - opts.now()) / 1000;
      if (ttlSec <= 0) continue; // the window closed between the read and now: start a new one
      await store.put(kind, id, { count }, { ttlSec, ifMatch: current.etag });
      return count;
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
      // Spread contenders out so each round has a likely winner instead of all of them colliding again.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(5 * 2 ** Math.min(attempt, 4), 50)));
    }
  }
  throw new StoreConflictError(kind, id, `increment gave up after ${maxAttempts} contended attempts`);
}
