// `npm run build` writes a self-contained Function App folder, and that folder runs on its own: copied
// out of the repository (no node_modules anywhere above it) and loaded the way the worker loads it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dist = path.join(root, "dist", "api");

describe("npm run build", () => {
  let output = "";
  let away = "";

  before(async () => {
    const r = await run("npm", ["run", "--silent", "build"], { cwd: root });
    output = r.stdout;
    away = await mkdtemp(path.join(tmpdir(), "functions-app-"));
    await cp(dist, away, { recursive: true });
  });
  after(async () => {
    if (away) await rm(away, { recursive: true, force: true });
  });

  test("prints the bundle size and its top contributors", () => {
    assert.match(output, /dist\/api\/main\.js: \d+ bytes \(\d+\.\d KiB\)/);
    assert.match(output, /top contributors:\n\s+[\d.]+ KiB\s+[\d.]+%\s+\S+/);
  });

  test("writes main.js, main.js.map, host.json and package.json", async () => {
    for (const file of ["main.js", "main.js.map", "host.json", "package.json"]) {
      assert.ok((await stat(path.join(dist, file))).size > 0, file);
    }
    const host = JSON.parse(await readFile(path.join(dist, "host.json"), "utf8"));
    assert.equal(host.version, "2.0");
    assert.equal(host.extensions.http.routePrefix, "");
    assert.equal(host.extensionBundle.version, "[4.*, 5.0.0)");
    const pkg = JSON.parse(await readFile(path.join(dist, "package.json"), "utf8"));
    assert.equal(pkg.type, "module");
    assert.equal(pkg.main, "main.js");
    assert.deepEqual(pkg.dependencies, {});
    const map = JSON.parse(await readFile(path.join(dist, "main.js.map"), "utf8"));
    assert.ok(map.sources.some((s: string) => s.endsWith("api/src/hosts/functions.ts")));
  });

  test("the bundle needs nothing but Node built-ins, the worker's @azure/functions-core and its own chunks", async () => {
    const files = ["main.js", ...(await readdir(path.join(dist, "chunks"))).map((f) => `chunks/${f}`)].filter(
      (f) => f.endsWith(".js"),
    );
    assert.ok(files.length > 1, "main.js and the chunks it loads on demand");
    const sources = new Map<string, string>();
    for (const file of files) sources.set(file, await readFile(path.join(dist, file), "utf8"));
    // esbuild routes CommonJS `require` calls through a shim (`var X=(e=>typeof require<"u"?require:…`),
    // defined in one file and imported by the others under the name that file exports it as.
    const shimOf = (js: string) => /var ([\w$]+)=\(\w+=>typeof require<"u"\?require/.exec(js)?.[1];
    const shimExports = new Set<string>();
    for (const js of sources.values()) {
      const shim = shimOf(js);
      if (!shim) continue;
      for (const m of js.matchAll(/export\{([^}]*)\}/g))
        for (const binding of (m[1] ?? "").split(",")) {
          const [local, exported] = binding.split(" as ").map((x) => x.trim());
          if (local === shim) shimExports.add(exported ?? local);
        }
    }
    const specifiers = new Set<string>();
    for (const [file, js] of sources) {
      // (assert.ok, not assert.match: a failure must not print a megabyte of bundle)
      assert.ok(!js.includes("node_modules/"), `${file} refers to a node_modules/ path`);
      assert.ok(
        js.startsWith('import { createRequire as __createRequire } from "node:module";'),
        `banner of ${file}`,
      );
      const callers = ["require"];
      const own = shimOf(js);
      if (own) callers.push(own);
      for (const m of js.matchAll(/import\{([^}]*)\}from"\.\.?\/[^"]+"/g))
        for (const binding of (m[1] ?? "").split(",")) {
          const [exported, local] = binding.split(" as ").map((x) => x.trim());
          if (exported && shimExports.has(exported)) callers.push(local ?? exported);
        }
      // Call sites only: ajv keeps `'require("ajv/dist/runtime/uri")'` as a string for standalone code output.
      const pattern = new RegExp(
        `(?<![\\w'"\`.$])(?:${callers.map((n) => n.replace(/\$/g, "\\$")).join("|")})\\("([^"]+)"\\)|(?<![\\w-])from"([^"]+)"|\\bimport\\("([^"]+)"\\)`,
        "g",
      );
      for (const m of js.matchAll(pattern)) specifiers.add(m[1] ?? m[2] ?? m[3] ?? "");
    }
    const foreign = [...specifiers].filter(
      (s) => !isBuiltin(s) && s !== "@azure/functions-core" && !s.startsWith("./") && !s.startsWith("../"),
    );
    assert.deepEqual(foreign, []);
    assert.ok(specifiers.has("@azure/functions-core"));
  });

  test("the bundle, away from the repository, registers both functions and serves the app", async () => {
    const env = {
      ...process.env,
      AUTH_MODE: "entra",
      PUBLIC_URL: "https://func-api-x.azurewebsites.net",
      ENTRA_TENANT_ID: "11111111-1111-4111-8111-111111111111",
      ENTRA_CLIENT_ID: "22222222-2222-4222-8222-222222222222",
      MANAGED_IDENTITY_CLIENT_ID: "33333333-3333-4333-8333-333333333333",
    };
    const requests = [
      { method: "GET", path: "/api/health" },
      { method: "POST", path: "/api/mcp", headers: { "content-type": "application/json" }, body: "{}" },
    ];
    const { stdout } = await run(
      process.execPath,
      [path.join(root, "testing/bundle-harness.ts"), path.join(away, "main.js"), JSON.stringify(requests)],
      { cwd: root, env },
    );
    const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
    assert.equal(result.programmingModel, "@azure/functions");
    assert.deepEqual(result.functions, [
      { name: "http", triggers: ["httpTrigger"] },
      { name: "sweep", triggers: ["timerTrigger"] },
    ]);
    const [health, mcp] = result.responses;
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).resource, "https://func-api-x.azurewebsites.net/api/mcp");
    assert.equal(mcp.status, 401);
    assert.match(mcp.headers["www-authenticate"], /^Bearer resource_metadata=/);
  });
});
