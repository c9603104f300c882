/**
 * Azurite, the local Azure Storage emulator: recognising its endpoint and building a client for it.
 *
 * Azurite only accepts its well-known development account, `devstoreaccount1`, whose key Microsoft
 * publishes in the Azurite and Storage docs ("Use the Azurite emulator for local Azure Storage
 * development"). It is not a secret, but it must never look like a setting: it lives here, on the path
 * `createStore` takes only for a loopback `…/devstoreaccount1` endpoint, and nowhere in config
 * defaults, app settings or Bicep. In Azure the store authenticates with the managed identity.
 *
 * @module
 */
import { AzureNamedKeyCredential, TableClient } from "@azure/data-tables";
import { isLoopbackHost } from "../core/loopback.ts";
import { TABLE_CLIENT_OPTIONS } from "./tables.ts";

export const AZURITE_ACCOUNT = "devstoreaccount1";
// The public, documented development key every Azurite instance accepts.
const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** True for `http(s)://127.0.0.1|localhost|[::1]:<port>/devstoreaccount1`, the only shape sent to Azurite. */
export function isAzuriteEndpoint(endpoint: string): boolean {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return false;
  }
  const loopback = isLoopbackHost(u.hostname);
  return loopback && u.pathname.replace(/\/+$/, "") === `/${AZURITE_ACCOUNT}`;
}

/** The table endpoint of an Azurite listening on `port` at 127.0.0.1. */
export function azuriteTableEndpoint(port: number): string {
  return `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
}

/** A `TableClient` for `tableName` on the Azurite at `endpoint` (a port or a full endpoint URL). */
export function azuriteTableClient(endpoint: number | string, tableName: string): TableClient {
  const url = typeof endpoint === "number" ? azuriteTableEndpoint(endpoint) : endpoint;
  if (!isAzuriteEndpoint(url)) throw new TypeError(`Not an Azurite endpoint: ${url}`);
  return new TableClient(url, tableName, new AzureNamedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), {
    // Azurite speaks plain http on loopback.
    allowInsecureConnection: url.startsWith("http:"),
    ...TABLE_CLIENT_OPTIONS,
  });
}
