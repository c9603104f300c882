// Every .bicep file under infra/ parses cleanly with tree-sitter-bicep, and every resource declaration
// matches the Bicep compiler's own type definitions (../shared/bicep-types).
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { BicepFile } from "./bicep.ts";
import { extensionStatementProblems, loadAllBicep, resources, syntaxProblems } from "./bicep.ts";
import { BicepTypes, checkResourceTypes } from "./bicep-types.ts";

let files: BicepFile[] = [];
let types: BicepTypes;

before(async () => {
  files = await loadAllBicep();
  types = new BicepTypes();
});

describe("Bicep syntax", () => {
  test("infra/ has the expected Bicep files", () => {
    const names = files.map((f) => f.name.replaceAll("\\", "/"));
    for (const expected of [
      "infra/main.bicep",
      "infra/app/api.bicep",
      "infra/app/entra.bicep",
      "infra/app/identity.bicep",
      "infra/app/monitoring.bicep",
      "infra/app/rbac.bicep",
      "infra/app/storage.bicep",
      "infra/app/web.bicep",
    ]) {
      assert.ok(names.includes(expected), `${expected} is missing (found: ${names.join(", ")})`);
    }
  });

  test("every file parses without ERROR or MISSING nodes", () => {
    const problems = files.flatMap(syntaxProblems);
    assert.deepEqual(problems, [], `syntax problems:\n${problems.join("\n")}`);
  });

  test("extension statements are well formed, and only where Microsoft.Graph resources are", () => {
    const problems = files.flatMap(extensionStatementProblems);
    for (const f of files) {
      const usesGraph = resources(f).some((r) => r.type.startsWith("Microsoft.Graph/"));
      const declares = f.extensions.some((e) => /^extension\s+microsoftGraphV1\b/.test(e.text));
      if (usesGraph && !declares)
        problems.push(`${f.name}: uses Microsoft.Graph resources without 'extension microsoftGraphV1'`);
      if (!usesGraph && declares)
        problems.push(`${f.name}: declares the Graph extension but uses no Graph resource`);
    }
    assert.deepEqual(problems, [], problems.join("\n"));
  });
});

describe("Bicep resource types", () => {
  test("every resource declaration matches its type definition", () => {
    const problems = files.flatMap((f) => checkResourceTypes(f, types)).map((p) => `${p.at}: ${p.message}`);
    assert.deepEqual(problems, [], `type problems:\n${problems.join("\n")}`);
  });

  test("no AVM or other registry modules (the type check cannot see inside them)", () => {
    const registry = files.flatMap((f) =>
      [...f.source.matchAll(/^\s*module\s+\w+\s+'((?:br|ts)[:/][^']*)'/gm)].map((m) => `${f.name}: ${m[1]}`),
    );
    assert.deepEqual(registry, []);
  });
});
