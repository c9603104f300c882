// `npm start`'s printed flows in a real browser that trusts nothing extra (Debian's Chromium, no
// certificate exception): the Inspector command's browser leg (the consent page, the emulator's sign-in
// page, back to the Inspector, which then calls the tool) and every link on the landing page. A
// certificate interstitial would fail the navigation (net::ERR_CERT_…); none may happen, and no page a
// person sees is on the emulator's HTTPS listener.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DESKTOP, launchChromium, watchProblems } from "@entra-mcp/testing/browser";
import { inspectorEnv } from "@entra-mcp/testing/inspector";
import { freePort, ROOT } from "@entra-mcp/testing/stack";
import type { Browser, BrowserContext, Page } from "playwright-core";

let start: ChildProcess;
let banner = "";
let browser: Browser;
let emulatorHttps = "";
const dir = mkdtempSync(join(tmpdir(), "browser-npm-start-"));

before(async () => {
  const port = await freePort();
  const emulatorPort = await freePort();
  emulatorHttps = `https://127.0.0.1:${emulatorPort}`;
  start = spawn(process.execPath, ["scripts/start.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), EMULATOR_PORT: String(emulatorPort), AUTH_MODE: "proxy" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [, launched] = await Promise.all([
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within 60 s:\n${banner}`)), 60_000);
      const onData = (chunk: Buffer) => {
        banner += chunk.toString();
        if (banner.includes("Ctrl-C stops everything")) {
          clearTimeout(timer);
          resolve();
        }
      };
      start.stdout?.on("data", onData);
      start.stderr?.on("data", onData);
    }),
    launchChromium(),
  ]);
  browser = launched;
});

after(async () => {
  await browser?.close();
  if (start && start.exitCode === null) {
    const exited = once(start, "exit");
    start.kill("SIGINT");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A context with no certificate exception; records every top-level document the browser loaded. */
async function plainContext(): Promise<{ context: BrowserContext; documents: string[] }> {
  const context = await browser.newContext({ viewport: DESKTOP });
  const documents: string[] = [];
  context.on("response", (res) => {
    if (res.request().isNavigationRequest()) documents.push(res.url());
  });
  context.on("requestfailed", (req) => {
    const failure = req.failure()?.errorText ?? "";
    if (/CERT|SSL/i.test(failure)) documents.push(`FAILED ${failure} ${req.url()}`);
  });
  return { context, documents };
}

function assertNoCertificateWall(documents: string[]) {
  assert.ok(documents.length > 0);
  for (const url of documents) {
    assert.ok(!url.startsWith("FAILED"), `a certificate error: ${url}`);
    assert.ok(!url.startsWith(emulatorHttps), `a page on the emulator's HTTPS listener: ${url}`);
  }
}

describe("npm start in the user's own browser: no certificate warning", () => {
  test("the banner names the sign-in pages on plain HTTP loopback", () => {
    assert.match(
      banner,
      /Sign-in pages\s+http:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]{36}\/oauth2\/v2\.0\/authorize/,
    );
  });

  test("the Inspector command as printed: consent, sign-in, back to the Inspector, tool result", async () => {
    const command =
      /(npx mcp-inspector --cli \S+ --transport http \\\n\s+--method tools\/call --tool-name get_graph_user_details)/.exec(
        banner,
      )?.[1];
    assert.ok(command, `the banner prints the Inspector's OAuth command:\n${banner}`);
    const callback = `http://127.0.0.1:${await freePort()}/oauth/callback`;
    const inspector = spawn("sh", ["-c", command.replace(/\\\n\s+/, "")], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...inspectorEnv(dir),
        PATH: `${ROOT}node_modules/.bin:${process.env.PATH}`,
        // The person's browser is the one below: the Inspector's opener (xdg-open → $BROWSER) does nothing,
        // and the test opens the URL the Inspector prints. Not a TTY: ask it to go ahead anyway.
        MCP_AUTO_OPEN_ENABLED: "true",
        BROWSER: "true",
        DISPLAY: "",
        WAYLAND_DISPLAY: "",
        XDG_CURRENT_DESKTOP: "",
        MCP_OAUTH_CALLBACK_URL: callback,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    inspector.stdout?.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    const printed = new Promise<string>((resolve) => {
      inspector.stderr?.on("data", (c: Buffer) => {
        stderr += c.toString();
        const url = /Please navigate to: (\S+)/.exec(stderr)?.[1];
        if (url) resolve(url);
      });
    });
    const exited = once(inspector, "exit");
    const { context, documents } = await plainContext();
    const watch = await watchProblems(context);
    try {
      const url = await Promise.race([
        printed,
        exited.then(() => assert.fail(`the Inspector exited early:\n${stderr}`)),
      ]);
      const page: Page = await context.newPage();
      await page.goto(url);
      assert.equal(await page.textContent("h1"), "Allow access?");
      await Promise.all([page.waitForNavigation(), page.click('button[value="approve"]')]);
      assert.equal(await page.getAttribute('meta[name="emulator-page"]', "content"), "signin");
      assert.ok(page.url().startsWith("http://127.0.0.1:"), `the sign-in page: ${page.url()}`);
      await Promise.all([
        page.waitForURL((u) => u.href.startsWith(callback)),
        page.getByRole("button", { name: "AdeleV@contoso.onmicrosoft.com" }).click(),
      ]);
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, `${stdout}\n${stderr}`);
      assert.equal(JSON.parse(stdout).structuredContent.displayName, "Adele Vance");
      assertNoCertificateWall(documents);
      // The Inspector closes its callback listener once it has the code: its page's favicon is not ours.
      assert.deepEqual(
        watch.unexpected([new RegExp(`${callback.replace("/oauth/callback", "")}/favicon\\.ico`)]),
        [],
      );
    } finally {
      if (inspector.exitCode === null) inspector.kill("SIGKILL");
      await context.close();
    }
  });

  test("every link on the landing page opens without a certificate warning", async () => {
    const landing = /Landing page\s+(\S+)/.exec(banner)?.[1];
    assert.ok(landing);
    const { context, documents } = await plainContext();
    try {
      const page = await context.newPage();
      await page.goto(landing);
      await page.waitForSelector("html[data-ready]");
      const links = await page.$$eval("a[href]", (as) => as.map((a) => (a as HTMLAnchorElement).href));
      const local = [...new Set(links.filter((l) => /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(l)))];
      assert.ok(
        local.some((l) => l.includes("/oauth2/v2.0/authorize")),
        `the consent link is among them: ${local}`,
      );
      for (const link of local) {
        const tab = await context.newPage();
        const res = await tab.goto(link);
        assert.ok(res && res.status() < 500, `${link} answered ${res?.status()}`);
        await tab.close();
      }
      assertNoCertificateWall(documents);
    } finally {
      await context.close();
    }
  });
});
