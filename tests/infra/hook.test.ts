// The postprovision hook that hands the API's URL to the landing page.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { repoRoot } from "./toolchain.ts";

const hook = join(repoRoot, "infra", "hooks", "postprovision.mjs");
const dir = mkdtempSync(join(tmpdir(), "postprovision-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(env: Record<string, string>, out: string) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !["API_BASE_URL", "MCP_ENDPOINT", "AUTH_MODE", "LANDING_PAGE_URL"].includes(k),
    ),
  );
  return spawnSync(process.execPath, [hook, "--out", out], { env: { ...clean, ...env }, encoding: "utf8" });
}

describe("postprovision hook", () => {
  test("writes app config from the azd outputs", () => {
    const out = join(dir, "config.json");
    const r = run(
      {
        API_BASE_URL: "https://func-api-abc.azurewebsites.net/",
        MCP_ENDPOINT: "https://func-api-abc.azurewebsites.net/api/mcp",
        AUTH_MODE: "proxy",
      },
      out,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(out, "utf8")), {
      apiBaseUrl: "https://func-api-abc.azurewebsites.net",
      mcpEndpoint: "https://func-api-abc.azurewebsites.net/api/mcp",
      authMode: "proxy",
    });
  });

  test("refuses to run without the outputs or with a non-https origin", () => {
    const missing = run({}, join(dir, "missing.json"));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /API_BASE_URL is not set/);
    const http = run({ API_BASE_URL: "http://example.com" }, join(dir, "http.json"));
    assert.equal(http.status, 1);
    assert.match(http.stderr, /must be an https origin/);
  });
});
