// azure.yaml against azd's schema (a copy in tests/infra/schemas/, from Azure/azure-dev schemas/v1.0);
// staticwebapp.config.json and swa-cli.config.json against the schemas the SWA CLI ships.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import type { AnySchema, ErrorObject } from "ajv";
import { parse as parseYaml } from "yaml";
import { repoRoot } from "./toolchain.ts";

const require = createRequire(import.meta.url);
// ajv and ajv-formats are CommonJS: load them through require so their default exports need no interop.
const Ajv = require("ajv").default as typeof import("ajv").default;
const Ajv2019 = require("ajv/dist/2019.js").default as typeof import("ajv/dist/2019.js").default;
const addFormats = require("ajv-formats").default as typeof import("ajv-formats").default;

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

function explain(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`)
    .join("\n");
}

const azdSchemaPath = join(import.meta.dirname, "schemas", "azure.yaml.json");

function swaSchema(name: string): Record<string, unknown> {
  const dir = join(dirname(require.resolve("@azure/static-web-apps-cli/package.json")), "schema");
  const schema = readJson(join(dir, name));
  // The SWA schemas declare draft-04 / draft-07 without a resolvable meta-schema id; their keywords are
  // the draft-07 subset Ajv's default dialect validates, so the declarations are dropped.
  delete schema.$schema;
  delete schema.id;
  return schema;
}

/** A validator for azure.yaml, compiled once. */
let azdValidate: ReturnType<InstanceType<typeof Ajv2019>["compile"]> | undefined;
function azdValidator() {
  if (azdValidate) return azdValidate;
  const schema = readJson(azdSchemaPath);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  addFormats(ajv);
  // Hosts from azd extensions (AI agents, Foundry...) point at schemas online; this project uses none of
  // them, so they stand in as empty schemas.
  const remote = new Set(
    JSON.stringify(schema).match(/https:\/\/raw\.githubusercontent\.com\/[^"#]+\.json/g) ?? [],
  );
  remote.delete(String(schema.$id));
  for (const url of remote) ajv.addSchema({ $id: url } as AnySchema);
  azdValidate = ajv.compile(schema);
  return azdValidate;
}

describe("azure.yaml", () => {
  test("validates against azd's schema", () => {
    const validate = azdValidator();
    const doc = parseYaml(readFileSync(join(repoRoot, "azure.yaml"), "utf8")) as unknown;
    assert.ok(validate(doc), explain(validate.errors));
  });

  test("the schema check rejects a broken azure.yaml", () => {
    const validate = azdValidator();
    assert.equal(validate({ name: "x", services: { api: { project: "." } } }), false, "service without host");
    assert.equal(validate({ name: "x", hooks: { postprovison: { run: "x" } } }), false, "misspelled hook");
  });
});

describe("Static Web Apps configuration", () => {
  test("staticwebapp.config.json validates and falls back to /index.html with a strict CSP", () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(swaSchema("staticwebapp.config.json"));
    const config = readJson(join(repoRoot, "staticwebapp.config.json"));
    assert.ok(validate(config), explain(validate.errors));
    assert.equal((config.navigationFallback as { rewrite: string }).rewrite, "/index.html");
    const csp = (config.globalHeaders as Record<string, string>)["Content-Security-Policy"] ?? "";
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  });

  test("swa-cli.config.json validates, serves app/ and proxies /api to the local server", () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(swaSchema("swa-cli.config.schema.json"));
    const config = readJson(join(repoRoot, "swa-cli.config.json"));
    assert.ok(validate(config), explain(validate.errors));
    const configurations = Object.values(config.configurations as Record<string, Record<string, unknown>>);
    assert.equal(configurations.length, 1, "one configuration, so `swa deploy` (run by azd) needs no name");
    assert.equal(configurations[0]?.appLocation, "app");
    assert.equal(configurations[0]?.apiDevserverUrl, "http://127.0.0.1:7071");
  });

  test("the SWA schema check rejects a broken configuration", () => {
    const ajv = new Ajv({ strict: false });
    const validate = ajv.compile(swaSchema("staticwebapp.config.json"));
    assert.equal(validate({ navigationFallback: { rewrites: "/index.html" } }), false);
  });
});
