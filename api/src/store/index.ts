/**
 * Builds the server's `Store` from its configuration.
 *
 * In Azure the table is reached with the user-assigned managed identity (the Function App's identity
 * holds "Storage Table Data Contributor" on the account): no connection string, no account key.
 * Only an endpoint on loopback whose path is Azurite's development account (`…/devstoreaccount1`)
 * gets Azurite's public development key, so no setting can make the server send that key elsewhere,
 * and no setting carries a key at all.
 *
 * @module
 */
import { TableClient } from "@azure/data-tables";
import { ManagedIdentityCredential, type TokenCredential } from "@azure/identity";
import type { Config } from "../config/config.ts";
import { azuriteTableClient, isAzuriteEndpoint } from "./azurite.ts";
import type { Store } from "./store.ts";
import { TABLE_CLIENT_OPTIONS, TableStore } from "./tables.ts";

export type { Entry, Kind, PutOptions, Store } from "./store.ts";
export { StoreConflictError, StoreValueError } from "./store.ts";

export interface CreateStoreOptions {
  /** Client id of the user-assigned managed identity that may use the table. */
  managedIdentityClientId: string;
  /** Overrides the managed identity (tests). */
  credential?: TokenCredential;
  now?: () => number;
}

export function createStore(config: Pick<Config, "storage">, opts: CreateStoreOptions): Store {
  const { tableEndpoint, tableName } = config.storage;
  if (!tableEndpoint) {
    throw new TypeError("STORAGE_TABLE_ENDPOINT is not set: the store needs a Table Storage endpoint");
  }
  const client = isAzuriteEndpoint(tableEndpoint)
    ? azuriteTableClient(tableEndpoint, tableName)
    : new TableClient(
        tableEndpoint,
        tableName,
        opts.credential ?? new ManagedIdentityCredential({ clientId: opts.managedIdentityClientId }),
        TABLE_CLIENT_OPTIONS,
      );
  return new TableStore(client, { now: opts.now });
}
