// `npm run swa` end to end: the script starts the emulator, the server and the Static Web Apps CLI
// (`swa start` with swa-cli.config.json and staticwebapp.config.json, no Functions Core Tools). The
// CLI serves app/ with the configured headers and navigation fallback, proxies /api to the server,
// and emulates SWA's built-in sign-in, which the page shows. Ctrl-C stops every process.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  DESKTOP,
  launchChromium,
  ROOT,
  screenshot,
  stubCdn,
  watchProblems,
} from "@entra-mcp/testing/browser";
import type { Browser } from "playwright-core";

const swaConfig = JSON.parse(readFileSync(`${ROOT}staticwebapp.config.json`, "utf8")) as {
  globalHeaders: Record<string, string>;
};

/** Polls until `read()` returns a value; fails with the script's output after `ms`. */
async function until<T>(read: () => T | undefined, ms: number, output: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out; npm run swa printed:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function refused(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return false;
  } catch {
    return true;
  }
}

describe("npm run swa: the Static Web Apps CLI in front of the local server", () => {
  let script: ChildProcess;
  let output = "";
  let swaUrl: string;
  let mcpUrl: string;
  let browser: Browser;

  before(async () => {
    script = spawn(process.execPath, [`${ROOT}scripts/swa.ts`], {
      cwd: ROOT,
      env: {
        ...process.env,
        AUTH_MODE: "entra",
        PORT: "0",
        SWA_PORT: "0",
        EMULATOR_PORT: "0",
        AZURITE_DIR: "memory",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    script.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    script.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    browser = await launchChromium();
    [, swaUrl, mcpUrl] = await until(
      () => /Landing page \(SWA\)\s+(\S+)\/\s+MCP server\s+(\S+)/.exec(output) ?? undefined,
      120_000,
      () => output,
    );
  });
  after(async () => {
    await browser?.close();
    if (script && script.exitCode === null) {
      script.kill("SIGKILL");
    }
  });

  test("serves app/ with staticwebapp.config.json's headers and fallback, and proxies /api to the server", async () => {
    const page = await fetch(`${swaUrl}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Connect to the Entra MCP server<\/title>/);
    for (const [name, value] of Object.entries(swaConfig.globalHeaders)) {
      assert.equal(page.headers.get(name), value, name);
    }
    const deepLink = await fetch(`${swaUrl}/clients/vscode`);
    assert.equal(deepLink.status, 200, "navigation fallback to index.html");
    assert.match(await deepLink.text(), /Connect to the Entra MCP server/);
    const github = await fetch(`${swaUrl}/.auth/login/github`, { redirect: "manual" });
    await github.body?.cancel();
    assert.equal(github.status, 404, "Entra ID is the only sign-in provider");

    const health = (await (await fetch(`${swaUrl}/api/health`)).json()) as {
      status: string;
      resource: string;
    };
    assert.equal(health.status, "ok");
    assert.equal(health.resource, mcpUrl, "the API behind /api is the server the script started");
    assert.notEqual(new URL(mcpUrl).origin, swaUrl, "MCP clients talk to the server, not through SWA");
  });

  test("the page finds the server through /api and shows SWA's emulated Entra sign-in and sign-out", async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const blocked = await stubCdn(context);
    const watch = await watchProblems(context);
    try {
      const page = await context.newPage();
      await page.goto(`${swaUrl}/`);
      await page.waitForSelector("html[data-ready]");
      assert.equal(await page.inputValue("#endpoint"), mcpUrl);
      assert.match((await page.textContent("#status")) ?? "", /Server reachable · Entra-direct mode/);
      assert.match((await page.textContent("#mode-note")) ?? "", /VS Code is pre-authorized/);
      assert.equal(await page.isVisible("#sign-in"), true);
      assert.equal(await page.isVisible("#sign-out"), false);

      // SWA's sign-in: /.auth/login/aad (the CLI's emulated login form), then back to the page.
      await Promise.all([page.waitForURL(/\/\.auth\/login\/aad/), page.click("#sign-in")]);
      assert.equal(await page.inputValue("#identityProvider"), "aad");
      await page.locator("#userDetails").pressSequentially("adele@contoso.example");
      await Promise.all([page.waitForURL(`${swaUrl}/`), page.click("#submit")]);
      await page.waitForSelector("html[data-ready]");
      assert.equal(await page.textContent("#account-user"), "Signed in as adele@contoso.example");
      assert.equal(await page.isVisible("#sign-out"), true);
      assert.equal(await page.isVisible("#sign-in"), false);
      const consent = new URL((await page.getAttribute("#consent-link", "href")) ?? "");
      assert.equal(consent.searchParams.get("login_hint"), "adele@contoso.example");
      await screenshot(page, "landing-swa-signed-in");

      await Promise.all([page.waitForURL(`${swaUrl}/`), page.click("#sign-out")]);
      await page.waitForSelector("html[data-ready]");
      await page.waitForSelector("#sign-in", { state: "visible" });
      assert.equal(await page.textContent("#account-user"), "");

      // A deep link falls back to the page, which still finds its files and the server.
      await page.goto(`${swaUrl}/clients/vscode`);
      await page.waitForSelector('#status[data-state="up"]');
      assert.equal(await page.inputValue("#endpoint"), mcpUrl);

      assert.deepEqual(blocked, [], "no request left this machine");
      // config.json exists only on Azure (written by azd's hook); here the page falls back to its origin.
      assert.deepEqual(
        watch.unexpected([/status of 404 .*\[http:\/\/127\.0\.0\.1:\d+\/config\.json\]$/]),
        [],
      );
    } finally {
      await context.close();
    }
  });

  test("Ctrl-C stops the SWA CLI, the server and the emulator", async () => {
    const health = `${swaUrl}/api/health`;
    assert.equal(await refused(health), false);
    const exited = once(script, "exit");
    script.kill("SIGINT");
    const [code] = await exited;
    assert.equal(code, 0, output);
    assert.equal(await refused(`${swaUrl}/`), true, "the SWA CLI is gone");
    assert.equal(await refused(`${new URL(mcpUrl).origin}/api/health`), true, "the server is gone");
  });
});
