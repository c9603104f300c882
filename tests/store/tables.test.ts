import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Azurite, startAzurite } from "@entra-mcp/testing/azurite";
import { azuriteTableClient } from "../../api/src/store/azurite.ts";
import { createStore } from "../../api/src/store/index.ts";
import { TableStore } from "../../api/src/store/tables.ts";
import { runStoreCases } from "./store.cases.ts";

describe("TableStore on Azurite", () => {
  let azurite: Azurite;
  let n = 0;
  before(async () => {
    azurite = await startAzurite();
  });
  after(() => azurite?.stop());

  // A fresh table per case, so sweep counts only its own rows.
  runStoreCases(
    async (clock) =>
      new TableStore(azuriteTableClient(azurite.tableEndpoint, `t${++n}x${process.pid}`), { now: clock.now }),
  );

  test("createStore reaches Azurite with the development account for its endpoint", async () => {
    const store = createStore(
      { storage: { tableEndpoint: azurite.tableEndpoint, tableName: "mcpstate" } },
      { managedIdentityClientId: "00000000-0000-0000-0000-000000000000" },
    );
    await store.put("client", "c", { ok: true }, { ttlSec: 60 });
    assert.deepEqual((await store.get("client", "c"))?.value, { ok: true });
  });
});
