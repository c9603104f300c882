/**
 * Portability guard: the server code outside `api/src/hosts/` runs on Node and in the Azure Functions
 * worker alike, so it imports neither `node:*` modules nor `@azure/functions` (hosts own both); and
 * `api/src/app.ts` can be imported without side effects (no environment reads, no I/O, no timers, no
 * output), which keeps the Functions cold start and the worker's indexing step cheap.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { importedSpecifiers, sourceFiles } from "@entra-mcp/testing/imports";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = join(ROOT, "api/src");
const HOSTS = join(SRC, "hosts");

describe("portability: api/src outside hosts/ is runtime-neutral", () => {
  it("no file under api/src/ outside api/src/hosts/ imports node:* or @azure/functions", () => {
    const files = sourceFiles(SRC).filter((f) => !f.startsWith(`${HOSTS}/`));
    assert.ok(files.length > 20, `expected the server's sources under ${SRC}, found ${files.length}`);
    const offenders: string[] = [];
    for (const file of files) {
      for (const spec of importedSpecifiers(readFileSync(file, "utf8"))) {
        if (spec.startsWith("node:") || spec === "@azure/functions" || spec.startsWith("@azure/functions/")) {
          offenders.push(`${relative(ROOT, file)} imports ${spec}`);
        }
      }
    }
    assert.deepEqual(offenders, []);
  });

  it("api/src/app.ts imports without side effects: no env reads, no fetch, no timers, no output, exits at once", () => {
    // A child process with instrumented globals imports the module and reports what it touched.
    const probe = `
      const touched = { env: [], fetch: 0, timers: 0 };
      const env = process.env;
      // Node's loader and some packages (the Azure SDK's logger) read variables as they load; the rule is
      // about the server's own code, so only reads made from api/src count.
      Error.stackTraceLimit = 50;
      const fromCode = () => (new Error().stack ?? "").includes("/api/src/");
      process.env = new Proxy(env, { get(t, k) { if (typeof k === "string" && fromCode()) touched.env.push(k); return t[k]; } });
      globalThis.fetch = () => { touched.fetch++; return Promise.reject(new Error("no I/O at import")); };
      for (const name of ["setTimeout", "setInterval", "setImmediate"]) {
        const real = globalThis[name];
        globalThis[name] = (...args) => { touched.timers++; return real(...args); };
      }
      const mod = await import(${JSON.stringify(join(SRC, "app.ts"))});
      if (typeof mod.createApp !== "function") throw new Error("createApp is not exported");
      await new Promise((r) => process.nextTick(r));
      process.env = env;
      process.stdout.write("PROBE" + JSON.stringify(touched));
    `;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", probe], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "" },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(run.error, undefined, String(run.error));
    assert.equal(run.signal, null, "importing app.ts left something running (the child had to be killed)");
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, "", "importing app.ts wrote to stderr");
    assert.ok(
      run.stdout.startsWith("PROBE"),
      `importing app.ts wrote to stdout: ${run.stdout.slice(0, 300)}`,
    );
    const touched = JSON.parse(run.stdout.slice("PROBE".length)) as {
      env: string[];
      fetch: number;
      timers: number;
    };
    assert.deepEqual(touched, { env: [], fetch: 0, timers: 0 });
  });
});
