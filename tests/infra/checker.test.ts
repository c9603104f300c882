// The checkers themselves: each kind of mistake they exist for is caught, so a green run means something.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadBicep, syntaxProblems } from "./bicep.ts";
import { BicepTypes, checkResourceTypes } from "./bicep-types.ts";

let dir: string;
let types: BicepTypes;
let n = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "bicep-check-"));
  types = new BicepTypes();
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function problemsOf(source: string): Promise<string[]> {
  const path = join(dir, `case${n++}.bicep`);
  writeFileSync(path, source);
  const file = await loadBicep(path);
  return [...syntaxProblems(file), ...checkResourceTypes(file, types).map((p) => p.message)];
}

const site = (props: string) => `resource fn 'Microsoft.Web/sites@2024-11-01' = {
  name: 'x'
  location: 'westeurope'
  properties: {
${props}
  }
}
`;

describe("type checker catches", () => {
  test("a clean resource passes", async () => {
    assert.deepEqual(await problemsOf(site("    serverFarmId: 'p'\n    httpsOnly: true")), []);
  });

  test("a misspelled property, with a suggestion", async () => {
    const p = await problemsOf(site("    serverFarmID: 'p'"));
    assert.equal(p.length, 1);
    assert.match(p[0]!, /fn\.properties\.serverFarmID: no such property \(did you mean 'serverFarmId'\?\)/);
  });

  test("a read-only property", async () => {
    assert.match(
      (await problemsOf(site("    defaultHostName: 'h'"))).join("\n"),
      /defaultHostName: read-only/,
    );
  });

  test("a missing required property", async () => {
    const p = await problemsOf("resource fn 'Microsoft.Web/sites@2024-11-01' = {\n  name: 'x'\n}\n");
    assert.match(p.join("\n"), /required property 'location' is missing/);
  });

  test("an unknown API version or type", async () => {
    const p = await problemsOf(
      "resource a 'Microsoft.Web/sites@2099-01-01' = {\n  name: 'x'\n}\nresource b 'Microsoft.Nope/things@2024-01-01' = {\n  name: 'x'\n}\n",
    );
    assert.match(p.join("\n"), /API version 2099-01-01 of Microsoft.Web\/sites/);
    assert.match(p.join("\n"), /unknown resource type Microsoft.Nope\/things/);
  });

  test("a wrong literal kind and a value outside a closed set", async () => {
    const p = await problemsOf(`resource st 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: 'x'
  location: 'l'
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: 'false'
    accessTier: 'Lukewarm'
  }
}
`);
    assert.match(p.join("\n"), /allowSharedKeyAccess: a string where BooleanType/);
    assert.match(p.join("\n"), /accessTier: 'Lukewarm' is not one of/);
  });

  test("mistakes inside loops, conditions, variables and discriminated types", async () => {
    const p = await problemsOf(`var web = {
  redirectUri: ['https://x/cb']
}
resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: 'u'
  displayName: 'd'
  web: web
}
resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for r in roles: if (true) {
  name: r
  properties: {
    roleDefinitionID: r
    principalId: 'p'
  }
}]
resource cfg 'Microsoft.Web/sites/config@2024-11-01' = {
  name: 'appsetings'
}
`);
    const text = p.join("\n");
    assert.match(text, /app\.web\.redirectUri: no such property \(did you mean 'redirectUris'\?\)/);
    assert.match(text, /ra\.properties\.roleDefinitionID: no such property/);
    assert.match(text, /cfg\.name: 'appsetings' is not one of appsettings/);
  });

  test("a syntax error", async () => {
    assert.match(
      (await problemsOf("resource x 'Microsoft.Web/sites@2024-11-01' = {\n  name: 'x'\n")).join("\n"),
      /missing|syntax error/,
    );
  });
});
