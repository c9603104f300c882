// The `web` service as azd packages and deploys it: `swa build -V` with the real SWA CLI from the
// devDependencies in the project folder, the deployment to production, and the one
// staticwebapp.config.json the SWA CLI can find.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { repoRoot } from "./toolchain.ts";

const require = createRequire(import.meta.url);
const swaPackage = dirname(require.resolve("@azure/static-web-apps-cli/package.json"));
const swaBin = join(swaPackage, "dist", "cli", "bin.js");

const scratch = mkdtempSync(join(tmpdir(), "swa-build-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

/** A copy of what `swa build` reads (the project folder azd runs it in), with app/config.json or not. */
function project(opts: { config?: object; extraSwaConfig?: string } = {}): string {
  const dir = join(scratch, `p${n++}`);
  for (const entry of ["app", "infra/hooks", "swa-cli.config.json", "staticwebapp.config.json"]) {
    cpSync(join(repoRoot, entry), join(dir, entry), { recursive: true });
  }
  rmSync(join(dir, "app", "config.json"), { force: true });
  if (opts.config) writeFileSync(join(dir, "app", "config.json"), JSON.stringify(opts.config));
  if (opts.extraSwaConfig) {
    mkdirSync(join(dir, opts.extraSwaConfig), { recursive: true });
    cpSync(
      join(repoRoot, "staticwebapp.config.json"),
      join(dir, opts.extraSwaConfig, "staticwebapp.config.json"),
    );
  }
  return dir;
}

/** `swa build -V`, as azd runs it (cli/azd/pkg/tools/swa/swa.go). */
function swaBuild(cwd: string) {
  const r = spawnSync(process.execPath, [swaBin, "build", "-V"], {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, CI: "true" },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const config = { apiBaseUrl: "https://func-api-abc.azurewebsites.net", authMode: "proxy" };

describe("swa build, as azd runs it", () => {
  test("succeeds with the landing page's build step, without azd's fatal 'No build options were defined'", () => {
    const r = swaBuild(project({ config }));
    assert.equal(r.status, 0, r.output);
    assert.doesNotMatch(r.output, /No build options were defined/);
    assert.match(
      r.output,
      /landing page: app\/config\.json and staticwebapp\.config\.json are ready to deploy/,
    );
  });

  test("fails, saying what to run, when the postprovision hook has not written app/config.json", () => {
    const r = swaBuild(project());
    assert.notEqual(r.status, 0);
    assert.match(r.output, /app\/config\.json is missing: run `azd provision`/);
  });

  test("fails when a second staticwebapp.config.json could be picked up", () => {
    const r = swaBuild(project({ config, extraSwaConfig: "dist/web" }));
    assert.notEqual(r.status, 0);
    assert.match(r.output, /would find .*dist\/web\/staticwebapp\.config\.json/);
  });
});

describe("swa deploy", () => {
  test("goes to production: swa-cli.config.json says so, and azure.yaml requires an azd that passes it on", () => {
    const cli = JSON.parse(readFileSync(join(repoRoot, "swa-cli.config.json"), "utf8")) as {
      configurations: Record<string, { deploy?: { env?: string } }>;
    };
    for (const c of Object.values(cli.configurations)) assert.equal(c.deploy?.env, "production");
    const azure = parseYaml(readFileSync(join(repoRoot, "azure.yaml"), "utf8")) as {
      requiredVersions?: { azd?: string };
    };
    const min = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(azure.requiredVersions?.azd ?? "");
    assert.ok(min, `requiredVersions.azd is a lower bound: ${azure.requiredVersions?.azd}`);
    const [major, minor, patch] = min.slice(1).map(Number) as [number, number, number];
    assert.ok(major > 1 || (major === 1 && (minor > 25 || (minor === 25 && patch >= 6))), "azd >= 1.25.6");
  });

  test("the SWA CLI's own lookup finds exactly the project's staticwebapp.config.json", async () => {
    const { findSWAConfigFile } = (await import(
      pathToFileURL(join(swaPackage, "dist", "core", "utils", "user-config.js")).href
    )) as { findSWAConfigFile: (folder: string) => Promise<{ filepath: string } | null> };
    const cli = JSON.parse(readFileSync(join(repoRoot, "swa-cli.config.json"), "utf8")) as {
      configurations: Record<string, { swaConfigLocation: string }>;
    };
    for (const c of Object.values(cli.configurations)) {
      const found = await findSWAConfigFile(join(repoRoot, c.swaConfigLocation));
      assert.equal(found?.filepath, join(repoRoot, "staticwebapp.config.json"));
    }
  });
});
