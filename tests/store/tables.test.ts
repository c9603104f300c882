import { after, before, describe } from "node:test";
import { azuriteTableClient } from "../../api/src/store/azurite.ts";
import { TableStore } from "../../api/src/store/tables.ts";
import { type Azurite, startAzurite } from "../../scripts/azurite.ts";
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
});
