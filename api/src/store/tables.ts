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
 * @module
 */
import type { TableClient } from "@azure/data-tables";
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
  #ready: Promise<void> | undefined;

  constructor(client: TableClient, opts: TableStoreOptions = {}) {
    this.#client = client;
    this.#now = opts.now ?? Date.now;
  }

  /** Creates the table if missing, once per store; a failure is retried on the next call. */
  ready(): Promise<void> {
    this.#ready ??= this.#client.createTable().catch((err) => {
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
      entity = await this.#client.getEntity<StoredEntity>(pk, rk);
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
        return etagOf(await this.#client.updateEntity(entity, "Replace", { etag: opts.ifMatch }));
      }
      if (!opts.ifAbsent) return etagOf(await this.#client.upsertEntity(entity, "Replace"));
      try {
        return etagOf(await this.#client.createEntity(entity));
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
      }
      // A row exists. It blocks the insert only while it is live; an expired one is replaced, but only
      // the version just read, so a concurrent creator can't be overwritten.
      const existing = await this.#client.getEntity<StoredEntity>(pk, rk).catch((err) => {
        if (statusOf(err) === 404) return undefined;
        throw err;
      });
      if (!existing) return etagOf(await this.#client.createEntity(entity));
      if (expiresAtOf(existing) > this.#now()) {
        throw new StoreConflictError(kind, id, "a live row already exists");
      }
      return etagOf(await this.#client.updateEntity(entity, "Replace", { etag: existing.etag }));
    } catch (err) {
      throw conflictOr(err, kind, id);
    }
  }

  async delete(kind: Kind, id: string, opts: { ifMatch?: string } = {}): Promise<boolean> {
    const [pk, rk] = keysOf(kind, id);
    await this.ready();
    try {
      await this.#client.deleteEntity(pk, rk, opts.ifMatch !== undefined ? { etag: opts.ifMatch } : {});
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
        await this.#client.deleteEntity(pk, rk, etag ? { etag } : {});
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

function conflictOr(err: unknown, kind: Kind, id: string): unknown {
  const status = statusOf(err);
  if (status === 409) return new StoreConflictError(kind, id, "a live row already exists");
  if (status === 412) return new StoreConflictError(kind, id, "the row changed");
  if (status === 404) return new StoreConflictError(kind, id, "the row is gone");
  return err;
}
