import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TokenCredential } from "@azure/identity";
import { ConfigError, loadConfig, SETTINGS } from "../../api/src/config/config.ts";
import { isAzuriteEndpoint } from "../../api/src/store/azurite.ts";
import { createStore } from "../../api/src/store/index.ts";

const base = {
  AUTH_MODE: "entra",
  PUBLIC_URL: "https://mcp.contoso.com",
  ENTRA_TENANT_ID: "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
  ENTRA_CLIENT_ID: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return [];
}

describe("store configuration", () => {
  test("storage settings are in the settings table, with no key or connection string among them", () => {
    const names = SETTINGS.map((s) => s.name);
    assert.ok(names.includes("STORAGE_TABLE_ENDPOINT"));
    assert.ok(names.includes("STORAGE_TABLE_NAME"));
    for (const s of SETTINGS)
      assert.doesNotMatch(`${s.name} ${s.default ?? ""}`, /KEY|CONNECTION|devstoreaccount1/i);
  });

  test("the endpoint is optional in entra mode, required in proxy mode; the table name defaults", () => {
    const c = loadConfig(base);
    assert.deepEqual(c.storage, { tableEndpoint: undefined, tableName: "mcpstate" });
    assert.match(problems({ ...base, AUTH_MODE: "proxy" }).join("\n"), /STORAGE_TABLE_ENDPOINT is required/);
    const p = loadConfig({
      ...base,
      AUTH_MODE: "proxy",
      STORAGE_TABLE_ENDPOINT: "https://stx.table.core.windows.net/",
      STORAGE_TABLE_NAME: "state2",
    });
    assert.deepEqual(p.storage, { tableEndpoint: "https://stx.table.core.windows.net", tableName: "state2" });
  });

  test("bad endpoints and table names are named", () => {
    assert.match(
      problems({ ...base, STORAGE_TABLE_ENDPOINT: "http://stx.table.core.windows.net" })[0],
      /https/,
    );
    assert.match(problems({ ...base, STORAGE_TABLE_NAME: "1bad-name" })[0], /STORAGE_TABLE_NAME/);
    assert.deepEqual(
      problems({ ...base, STORAGE_TABLE_ENDPOINT: "http://127.0.0.1:10002/devstoreaccount1" }),
      [],
    );
  });

  test("only a loopback devstoreaccount1 endpoint counts as Azurite", () => {
    assert.ok(isAzuriteEndpoint("http://127.0.0.1:10002/devstoreaccount1"));
    assert.ok(isAzuriteEndpoint("http://localhost:10002/devstoreaccount1/"));
    assert.equal(isAzuriteEndpoint("https://stx.table.core.windows.net"), false);
    assert.equal(isAzuriteEndpoint("https://evil.example/devstoreaccount1"), false);
    assert.equal(isAzuriteEndpoint("http://127.0.0.1:10002/otheraccount"), false);
  });

  test("any other endpoint authenticates with the managed identity credential", async () => {
    const scopes: string[][] = [];
    const credential: TokenCredential = {
      async getToken(s) {
        scopes.push([s].flat());
        throw new Error("no identity here");
      },
    };
    const store = createStore(
      { storage: { tableEndpoint: "https://stx.table.core.windows.net", tableName: "mcpstate" } },
      { managedIdentityClientId: base.MANAGED_IDENTITY_CLIENT_ID, credential },
    );
    await assert.rejects(store.get("client", "x"), /no identity here/);
    assert.deepEqual(scopes[0], ["https://storage.azure.com/.default"]);
    assert.throws(
      () =>
        createStore(
          { storage: { tableEndpoint: undefined, tableName: "t" } },
          { managedIdentityClientId: "x" },
        ),
      /STORAGE_TABLE_ENDPOINT/,
    );
  });
});
