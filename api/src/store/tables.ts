/**
 * The `Store` on Azure Table Storage (Azurite locally), through `@azure/data-tables`.
 *
 * Layout: one table; PartitionKey = kind, RowKey = id (percent-encoded, since Table keys refuse
 * `/ \ # ?` and control characters); a `value` string column with the JSON; an `expiresAt` Int64
 * column (ms epoch) that reads filter on and `sweep` queries. Table Storage has no TTL of its own,
 * so an expired row lingers until swept, and `ifAbsent` replaces such a row only with the etag it saw
 * (so two creators racing over an expired row still produce one winner).
 *
 * Conditions map to the service's own: `ifAbsent` is an insert (409 if present), `ifMatch` an
 * `If-Match` replace or delete (412 if changed); both surface as `StoreConflictError`.
 *
 * Every call to the service has a deadline (`DEADLINES.storageMs`, the SDK's one retry included: see
 * `TABLE_CLIENT_OPTIONS`). A service that is down, unreachable or does not answer in time surfaces as a
 * `Failure("storage_unavailable")`, which every endpoint answers with `503` and `Retry-After`; nothing is
 * cached, so the next request after the service returns simply works.
 *
 * @module
 */
import type { TableClient } from "@azure/data-tables";
import { DEADLINES } from "../core/deadlines.ts";
import { Failure } from "../core/failure.ts";
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
  StoreValueError,
  serializeValue,
} from "./store.ts";

export interface TableStoreOptions {
  /** The clock, in ms since the epoch (`Date.now` by default). */
  now?: () => number;
  /** The deadline of one call to the service (default `DEADLINES.storageMs`). */
  timeoutMs?: number;
}

/** Client options for the table: one quick retry, so a call and its retry fit in `DEADLINES.storageMs`. */
export const TABLE_CLIENT_OPTIONS = {
  retryOptions: { maxRetries: 1, retryDelayInMs: 200, maxRetryDelayInMs: 1_000 },
} as const;

interface CallOptions {
  abortSignal: AbortSignal;
}

interface StoredEntity {
  partitionKey: string;
  rowKey: string;
  value: string;
  expiresAt: { value: string; type: "Int64" } | number | string;
  etag?: string;
}

// Table keys may be up to 1 KiB.
const MAX_KEY_CHARS = 1024;

export class TableStore implements Store {
  readonly #client: TableClient;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  #ready: Promise<void> | undefined;

  constructor(client: TableClient, opts: TableStoreOptions = {}) {
    this.#client = client;
    this.#now = opts.now ?? Date.now;
    this.#timeoutMs = opts.timeoutMs ?? DEADLINES.storageMs;
  }

  /**
   * One call to the service within the deadline. The service's own verdicts (404, 409, 412, …) come back
   * as they are for the caller to read; no answer, a 5xx, a throttle or a timeout is `storage_unavailable`.
   */
  async #call<T>(fn: (opts: CallOptions) => Promise<T>): Promise<T> {
    try {
      return await fn({ abortSignal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw unavailableOr(err);
    }
  }

  /** Creates the table if missing, once per store; a failure is retried on the next call. */
  ready(): Promise<void> {
    this.#ready ??= this.#call((o) => this.#client.createTable(o)).catch((err) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async get<T>(kind: Kind, id: string): Promise<Entry<T> | undefined> {
    const [pk, rk] = keysOf(kind, id);
    await this.ready();
    let entity: StoredEntity;
    try {
      entity = await this.#call((o) => this.#client.getEntity<StoredEntity>(pk, rk, o));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
    const expiresAt = expiresAtOf(entity);
    if (expiresAt <= this.#now()) return undefined;
    return { value: JSON.parse(entity.value) as T, etag: entity.etag ?? "", expiresAt };
  }

  async put<T>(kind: Kind, id: string, value: T, opts: PutOptions): Promise<{ etag: string }> {
    const [pk, rk] = keysOf(kind, id);
    const entity = {
      partitionKey: pk,
      rowKey: rk,
      value: serializeValue(kind, id, value),
      expiresAt: { value: String(expiryOf(this.#now(), opts.ttlSec)), type: "Int64" as const },
    };
    await this.ready();
    try {
      if (opts.ifMatch !== undefined) {
        return etagOf(
          await this.#call((o) => this.#client.updateEntity(entity, "Replace", { ...o, etag: opts.ifMatch })),
        );
      }
      if (!opts.ifAbsent)
        return etagOf(await this.#call((o) => this.#client.upsertEntity(entity, "Replace", o)));
      try {
        return etagOf(await this.#call((o) => this.#client.createEntity(entity, o)));
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
      }
      // A row exists. It blocks the insert only while it is live; an expired one is replaced, but only
      // the version just read, so a concurrent creator can't be overwritten.
      const existing = await this.#call((o) => this.#client.getEntity<StoredEntity>(pk, rk, o)).catch(
        (err) => {
          if (statusOf(err) === 404) return undefined;
          throw err;
        },
      );
      if (!existing) return etagOf(await this.#call((o) => this.#client.createEntity(entity, o)));
      if (expiresAtOf(existing) > this.#now()) {
        throw new StoreConflictError(kind, id, "a live row already exists");
      }
      return etagOf(
        await this.#call((o) => this.#client.updateEntity(entity, "Replace", { ...o, etag: existing.etag })),
      );
    } catch (err) {
      throw conflictOr(err, kind, id);
    }
  }

  async delete(kind: Kind, id: string, opts: { ifMatch?: string } = {}): Promise<boolean> {
    const [pk, rk] = keysOf(kind, id);
    await this.ready();
    try {
      await this.#call((o) =>
        this.#client.deleteEntity(pk, rk, opts.ifMatch !== undefined ? { ...o, etag: opts.ifMatch } : o),
      );
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw conflictOr(err, kind, id);
    }
  }

  async list<T>(kind: Kind, prefix: string, opts: { limit?: number } = {}) {
    const [pk, from] = keysOf(kind, prefix);
    const limit = Math.min(opts.limit ?? MAX_LIST_ROWS, MAX_LIST_ROWS);
    await this.ready();
    // Percent-encoding keeps prefixes (an encoded id starts with the encoded prefix): the ids under
    // it are the keys from the prefix up to (not including) the prefix with its last character bumped.
    const to = from.slice(0, -1) + String.fromCharCode(from.charCodeAt(from.length - 1) + 1);
    const rows = this.#client.listEntities<StoredEntity>({
      queryOptions: {
        filter:
          `PartitionKey eq ${quoted(pk)} and RowKey ge ${quoted(from)} and RowKey lt ${quoted(to)}` +
          ` and expiresAt gt ${Math.floor(this.#now())}L`,
      },
    });
    const out: Array<Entry<T> & { id: string }> = [];
    for await (const e of rows) {
      out.push({
        id: decodeURIComponent(e.rowKey),
        value: JSON.parse(e.value) as T,
        etag: e.etag ?? "",
        expiresAt: expiresAtOf(e),
      });
      if (out.length >= limit) break;
    }
    return out;
  }

  increment(kind: Kind, id: string, windowSec: number): Promise<number> {
    return incrementWithRetries(this, kind, id, windowSec, { now: this.#now });
  }

  async sweep(now = this.#now()): Promise<number> {
    await this.ready();
    const expired = this.#client.listEntities<StoredEntity>({
      queryOptions: {
        filter: `expiresAt le ${Math.floor(now)}L`,
        select: ["PartitionKey", "RowKey"],
      },
    });
    const deleteOne = async (pk: string, rk: string, etag: string | undefined): Promise<number> => {
      try {
        // With the etag listed, so a row rewritten meanwhile (a fresh row under a reused id) stays.
        await this.#call((o) => this.#client.deleteEntity(pk, rk, etag ? { ...o, etag } : o));
        return 1;
      } catch (err) {
        if (statusOf(err) === 404 || statusOf(err) === 412) return 0;
        throw err;
      }
    };
    let removed = 0;
    let batch: Promise<number>[] = [];
    for await (const e of expired) {
      batch.push(deleteOne(e.partitionKey, e.rowKey, e.etag));
      if (batch.length >= 16) {
        for (const n of await Promise.all(batch)) removed += n;
        batch = [];
      }
    }
    for (const n of await Promise.all(batch)) removed += n;
    return removed;
  }
}

/** PartitionKey and RowKey for a row. Percent-encoding is the identity on hashes and GUIDs. */
function keysOf(kind: Kind, id: string): [string, string] {
  assertKey(kind, id);
  const pk = encodeURIComponent(kind);
  const rk = encodeURIComponent(id);
  if (pk.length > MAX_KEY_CHARS || rk.length > MAX_KEY_CHARS) {
    throw new StoreValueError(`Store key too long for Table Storage (${kind}/${id.slice(0, 40)}…)`);
  }
  return [pk, rk];
}

/** An OData string literal (quotes doubled). */
function quoted(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function expiresAtOf(entity: StoredEntity): number {
  const raw = entity.expiresAt;
  return Number(typeof raw === "object" && raw !== null ? raw.value : raw);
}

function etagOf(response: { etag?: string }): { etag: string } {
  if (!response.etag) throw new Error("Table Storage returned no etag");
  return { etag: response.etag };
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}

/** The service could not be used right now (no answer, 5xx, throttled, timed out): `storage_unavailable`. */
function unavailableOr(err: unknown): unknown {
  const status = statusOf(err);
  const unanswered = status === undefined && isUnreachable(err);
  if (!unanswered && !(status !== undefined && (status >= 500 || status === 408 || status === 429))) {
    return err; // the service's own verdict, or not a storage problem at all (a credential, a bug)
  }
  return new Failure(
    "storage_unavailable",
    "The server's storage is unavailable right now; try again shortly.",
    {
      cause: err,
      log: { status, error: String((err as Error)?.message ?? err).slice(0, 200) },
    },
  );
}

/** Refused, reset, timed out or aborted: the service did not answer. */
function isUnreachable(err: unknown): boolean {
  const seen = new Set<unknown>();
  for (
    let e: unknown = err;
    e && typeof e === "object" && !seen.has(e);
    e = (e as { cause?: unknown }).cause
  ) {
    seen.add(e);
    const { name, code, message } = e as { name?: string; code?: string; message?: string };
    if (name === "AbortError" || name === "TimeoutError") return true;
    if (code && /^(ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|REQUEST_SEND_ERROR|UND_ERR)/.test(code))
      return true;
    if (/ECONNREFUSED|ECONNRESET|socket hang up|aborted|timed? ?out/i.test(message ?? "")) return true;
  }
  return false;
}

function conflictOr(err: unknown, kind: Kind, id: string): unknown {
  const status = statusOf(err);
  if (status === 409) return new StoreConflictError(kind, id, "a live row already exists");
  if (status === 412) return new StoreConflictError(kind, id, "the row changed");
  if (status === 404) return new StoreConflictError(kind, id, "the row is gone");
  return err;
}
