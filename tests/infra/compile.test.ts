// infra/ through the real Bicep compiler: `bicep build` with zero errors and zero warnings, `bicep lint`
// clean, every suppressed diagnostic explained, and the test configuration alike to the deployed one.
// Without a Bicep CLI and without dotnet to restore one, these tests skip and say why.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, test } from "node:test";
import { bicep, build, diagnostics, infraDir, lint, repoRoot, testBicepConfig } from "./toolchain.ts";

const toolchain = bicep();
const skip = toolchain.reason ? `the Bicep compiler did not run: ${toolchain.reason}` : false;
if (toolchain.bicep) {
  console.log(`Bicep CLI ${toolchain.bicep.version} from ${toolchain.bicep.source}`);
}

function bicepFiles(dir = infraDir): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((e) => {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) return bicepFiles(p);
      return e.endsWith(".bicep") ? [p] : [];
    });
}

const scratch = mkdtempSync(join(tmpdir(), "bicep-compile-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("Bicep compiler", () => {
  test("infra/main.bicep compiles with no error and no warning", { skip }, () => {
    const { run, template } = build(toolchain.bicep!);
    const found = diagnostics(run);
    assert.equal(run.status, 0, `bicep build failed:\n${run.stdout}${run.stderr}`);
    assert.deepEqual(found, [], `bicep build diagnostics:\n${found.join("\n")}`);
    assert.ok(template, "bicep build wrote no ARM template");
    assert.match(
      template.$schema,
      /subscriptionDeploymentTemplate\.json/,
      "main.bicep deploys to the subscription",
    );
  });

  test("bicep lint reports nothing", { skip }, () => {
    const run = lint(toolchain.bicep!);
    const found = diagnostics(run);
    assert.equal(run.status, 0, `bicep lint failed:\n${run.stdout}${run.stderr}`);
    assert.deepEqual(found, [], `bicep lint diagnostics:\n${found.join("\n")}`);
  });

  test("the compile check fails on a for-expression inside an object (BCP138)", { skip }, () => {
    const file = join(scratch, "loop-in-object.bicep");
    writeFileSync(
      file,
      "param ids array = []\nvar settings = {\n  apps: [for id in ids: { appId: id }]\n}\noutput settings object = settings\n",
    );
    const { run } = build(toolchain.bicep!, file);
    assert.notEqual(run.status, 0);
    assert.match(diagnostics(run).join("\n"), /Error BCP138/);
  });

  test("the lint check reports an unused parameter", { skip }, () => {
    const file = join(scratch, "unused.bicep");
    writeFileSync(file, "param unused string\noutput x string = 'x'\n");
    assert.match(diagnostics(lint(toolchain.bicep!, file)).join("\n"), /Warning no-unused-params/);
  });
});

describe("Bicep sources", () => {
  // Runs without a compiler too: suppressions are comments, which the compiler does not explain.
  test("every suppressed diagnostic says why, on the same line or the line above", () => {
    const problems: string[] = [];
    for (const file of bicepFiles()) {
      const lines = readFileSync(file, "utf8").split("\n");
      lines.forEach((line, i) => {
        if (!/#disable-(next-line|diagnostics)\b/.test(line)) return;
        const why = /\/\/\s*\S/.test(line) || /^\s*\/\/\s*\S/.test(lines[i - 1] ?? "");
        if (!why) problems.push(`${relative(repoRoot, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(problems, [], `suppressions without a reason:\n${problems.join("\n")}`);
  });

  test("the test configuration is the deployed one except for the Graph extension's location", () => {
    // bicepconfig.json may hold comments (JSONC): strip whole-line comments before parsing.
    const read = (p: string) =>
      JSON.parse(
        readFileSync(p, "utf8")
          .split("\n")
          .filter((l) => !/^\s*\/\//.test(l))
          .join("\n"),
      ) as { extensions?: Record<string, string> } & Record<string, unknown>;
    const deployed = read(join(infraDir, "bicepconfig.json"));
    const testing = read(testBicepConfig);
    assert.match(
      deployed.extensions?.microsoftGraphV1 ?? "",
      /^br:mcr\.microsoft\.com\/bicep\/extensions\/microsoftgraph\/v1\.0:1\.0\.0$/,
      "deployments pull the Graph extension v1.0 1.0.0 from the registry",
    );
    assert.match(
      testing.extensions?.microsoftGraphV1 ?? "",
      /\.tgz$/,
      "the tests use the locally built file",
    );
    const { extensions: _d, ...deployedRest } = deployed;
    const { extensions: _t, ...testingRest } = testing;
    assert.deepEqual(testingRest, deployedRest, "analyzer and other settings must match");
    assert.deepEqual(Object.keys(testing.extensions ?? {}), Object.keys(deployed.extensions ?? {}));
  });
});
