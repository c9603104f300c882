// The landing page as `npm start` serves it (the Node host serves app/ next to the API), in Debian's
// Chromium: the endpoint and every client recipe, copying, keyboard use, phone width, light and dark,
// contrast, the reachability indicator against a running and a stopped server, and no console errors
// or CSP violations anywhere.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  contrast,
  copyToDocs,
  DESKTOP,
  launchChromium,
  PHONE,
  ROOT,
  SCREENSHOTS,
  screenshot,
  watchProblems,
} from "@entra-mcp/testing/browser";
import { type ServerProcess, type Stack, startServer, startStack } from "@entra-mcp/testing/stack";
import type { Browser, BrowserContext, Page } from "playwright-core";

const swaConfig = JSON.parse(readFileSync(`${ROOT}staticwebapp.config.json`, "utf8")) as {
  globalHeaders: Record<string, string>;
};

interface Health {
  authMode: string;
  resource: string;
  authorizationServer: string;
  scopes: string[];
  tenantId: string;
  clientId: string;
  consentUrl: string;
  connectedAppsUrl?: string;
}

describe("landing page on the local server (npm start)", () => {
  let stack: Stack;
  let browser: Browser;
  let health: Health;
  let restarted: ServerProcess | undefined;

  before(async () => {
    [stack, browser] = await Promise.all([startStack({ authMode: "proxy" }), launchChromium()]);
    health = (await (await fetch(`${stack.server.url}/api/health`)).json()) as Health;
  });
  after(async () => {
    await browser?.close();
    await restarted?.stop();
    await stack?.stop();
  });

  async function open(
    opts: { viewport?: typeof DESKTOP; colorScheme?: "light" | "dark" } = {},
  ): Promise<{ context: BrowserContext; page: Page; watch: Awaited<ReturnType<typeof watchProblems>> }> {
    const context = await browser.newContext({
      viewport: opts.viewport ?? DESKTOP,
      colorScheme: opts.colorScheme ?? "light",
    });
    const watch = await watchProblems(context);
    const page = await context.newPage();
    const res = await page.goto(`${stack.server.url}/`);
    assert.equal(res?.status(), 200);
    await page.waitForSelector("html[data-ready]");
    return { context, page, watch };
  }

  const code = (page: Page, id: string) => page.locator(`#${id} code`).textContent();

  test("shows the MCP endpoint, the server's mode and a ready recipe for every client", async () => {
    const { context, page, watch } = await open();
    try {
      const endpoint = stack.server.mcpUrl;
      assert.equal(await page.inputValue("#endpoint"), endpoint);
      assert.equal(await page.getAttribute("#status", "data-state"), "up");
      assert.match((await page.textContent("#status")) ?? "", /Server reachable · proxy mode/);
      assert.match((await page.textContent("#mode-note")) ?? "", /any MCP client/);

      // VS Code: mcp.json and the install links carry the same server definition.
      const vscode = JSON.parse((await code(page, "recipe-vscode")) ?? "");
      assert.deepEqual(vscode, { servers: { "entra-graph": { type: "http", url: endpoint } } });
      for (const [id, scheme] of [
        ["vscode-install", "vscode"],
        ["vscode-insiders-install", "vscode-insiders"],
      ]) {
        const href = (await page.getAttribute(`#${id}`, "href")) ?? "";
        assert.ok(href.startsWith(`${scheme}:mcp/install?`), href);
        assert.deepEqual(JSON.parse(decodeURIComponent(href.slice(href.indexOf("?") + 1))), {
          name: "entra-graph",
          type: "http",
          url: endpoint,
        });
      }
      // Claude Code, Claude Desktop through mcp-remote, any stdio host, the Inspector (web and CLI).
      assert.equal(
        await code(page, "recipe-claude-code"),
        `claude mcp add --transport http entra-graph ${endpoint}`,
      );
      assert.deepEqual(JSON.parse((await code(page, "recipe-claude-desktop")) ?? ""), {
        mcpServers: { "entra-graph": { command: "npx", args: ["-y", "mcp-remote", endpoint] } },
      });
      assert.equal(await code(page, "recipe-mcp-remote"), `npx -y mcp-remote ${endpoint}`);
      assert.equal(
        await code(page, "recipe-inspector-web"),
        `npx @modelcontextprotocol/inspector --web --transport http --server-url ${endpoint}`,
      );
      assert.match(
        (await code(page, "recipe-inspector-cli")) ?? "",
        new RegExp(`^npx @modelcontextprotocol/inspector --cli ${endpoint} --transport http`),
      );

      // Any other client: the discovery facts, and the metadata URL shown really is the server's.
      const prmUrl = (await page.textContent("#generic-prm")) ?? "";
      assert.equal(prmUrl, `${stack.server.url}/.well-known/oauth-protected-resource/api/mcp`);
      const prm = (await (await fetch(prmUrl)).json()) as {
        resource: string;
        authorization_servers: string[];
      };
      assert.equal(prm.resource, endpoint);
      assert.equal(await page.textContent("#generic-as"), prm.authorization_servers[0]);
      assert.equal(await page.textContent("#generic-scope"), health.scopes.join(" "));
      assert.match((await page.textContent("#generic-registration")) ?? "", /Client ID Metadata Document/);

      // The consent section: the server's own consent link and ids.
      assert.equal(await page.getAttribute("#consent-link", "href"), health.consentUrl);
      assert.equal(await page.textContent("#client-id"), stack.emulator.apiApp.clientId);
      assert.equal(await page.textContent("#tenant-id"), stack.emulator.tenantId);
      assert.match((await page.textContent("#consent")) ?? "", /consent_required/);
      // What the server may do: one line per permission the tools declare, from /api/health.
      assert.deepEqual(
        await page.$$eval("#graph-permissions li code", (els) => els.map((e) => e.textContent)),
        ["User.Read", "Mail.Read", "Calendars.Read", "People.Read"],
      );
      assert.match((await page.textContent("#graph-permissions")) ?? "", /Read your mail \(Mail\.Read\)/);

      // Proxy mode: the link to the server's Connected apps page, which answers.
      assert.equal(health.connectedAppsUrl, `${stack.server.url}/connected-apps`);
      assert.equal(await page.getAttribute("#connected-apps-link", "href"), health.connectedAppsUrl);
      assert.equal(await page.isVisible("#connected-apps-link"), true);
      assert.equal((await fetch(health.connectedAppsUrl)).status, 200);

      // No Static Web Apps here: no sign-in controls that would lead nowhere.
      assert.equal(await page.isVisible("#account"), false);

      await screenshot(page, "landing-desktop");
      // The README's picture: the first screen, small enough to commit. docs/landing.png is replaced
      // when missing or with UPDATE_DOCS_SCREENSHOT=1 (the port in it differs from run to run).
      const readme = `${SCREENSHOTS}landing-readme.png`;
      await page.screenshot({ path: readme, animations: "disabled" });
      assert.ok(statSync(readme).size < 300_000, "the README screenshot stays small");
      if (process.env.UPDATE_DOCS_SCREENSHOT === "1" || !existsSync(`${ROOT}docs/landing.png`)) {
        copyToDocs(readme, "landing.png");
      }

      assert.deepEqual(watch.unexpected(), []);
    } finally {
      await context.close();
    }
  });

  test("is served with the headers staticwebapp.config.json gives it on Azure (strict CSP)", async () => {
    for (const path of ["/", "/app.js", "/styles.css", "/base.css"]) {
      const res = await fetch(`${stack.server.url}${path}`);
      assert.equal(res.status, 200, path);
      await res.body?.cancel();
      for (const [name, value] of Object.entries(swaConfig.globalHeaders)) {
        assert.equal(res.headers.get(name), value, `${path}: ${name}`);
      }
    }
    const csp = swaConfig.globalHeaders["Content-Security-Policy"];
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /style-src 'self';/);
    // Only GET/HEAD reach the files; the API still owns its paths and its 404s.
    const missing = await fetch(`${stack.server.url}/nope.html`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: string }).error, "not_found");
  });

  test("copy buttons put the exact text on the clipboard, by mouse and by keyboard", async () => {
    const { context, page, watch } = await open();
    try {
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.server.url });
      const clipboard = () => page.evaluate(() => navigator.clipboard.readText());

      const buttons = page.locator("button[data-copy]");
      const count = await buttons.count();
      assert.ok(count >= 7, `one copy button per snippet, found ${count}`);
      for (let i = 0; i < count; i++) {
        const button = buttons.nth(i);
        const source = (await button.getAttribute("data-copy")) ?? "";
        const expected =
          source === "endpoint" ? await page.inputValue("#endpoint") : await page.textContent(`#${source}`);
        await button.click();
        assert.equal(await clipboard(), expected, `copy ${source}`);
        assert.equal(await button.locator(".copy-label").textContent(), "Copied");
      }
      // Screen readers hear it too.
      await page.waitForFunction(
        () => document.getElementById("announcer")?.textContent === "Copied to the clipboard.",
      );

      // Keyboard only: the skip link comes first, then the endpoint and its copy button.
      await page.evaluate(() => navigator.clipboard.writeText(""));
      await page.reload();
      await page.waitForSelector("html[data-ready]");
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
      await page.keyboard.press("Enter");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "main");
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "endpoint");
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        return { copy: el.dataset.copy, outline: getComputedStyle(el).outlineStyle };
      });
      assert.deepEqual(focused, { copy: "endpoint", outline: "solid" }, "a visible focus ring");
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => document.querySelector(".copy-label")?.textContent === "Copied");
      assert.equal(await clipboard(), stack.server.mcpUrl);

      assert.deepEqual(watch.unexpected(), []);
    } finally {
      await context.close();
    }
  });

  test("reads well on a phone and in dark mode: no sideways scrolling, text contrast at least 4.5:1", async () => {
    for (const colorScheme of ["light", "dark"] as const) {
      for (const viewport of [DESKTOP, PHONE]) {
        const { context, page, watch } = await open({ viewport, colorScheme });
        try {
          const width = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
          assert.ok(width[0] <= width[1], `${colorScheme} ${viewport.width}px: page is ${width[0]}px wide`);
          const pairs = await page.evaluate(textColourPairs);
          assert.ok(pairs.length > 40, "text was found");
          const poor = pairs.map((p) => ({ ...p, ratio: contrast(p.fg, p.bg) })).filter((p) => p.ratio < 4.5);
          assert.deepEqual(poor, [], `${colorScheme}: low-contrast text`);
          if (viewport === PHONE && colorScheme === "light") await screenshot(page, "landing-phone");
          if (viewport === PHONE && colorScheme === "dark") await screenshot(page, "landing-phone-dark");
          if (viewport === DESKTOP && colorScheme === "dark") await screenshot(page, "landing-desktop-dark");
          const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
          assert.equal(bg, colorScheme === "dark" ? "rgb(13, 17, 23)" : "rgb(245, 247, 250)");
          assert.deepEqual(watch.unexpected(), []);
        } finally {
          await context.close();
        }
      }
    }
  });

  test("the reachability indicator follows the server: reachable, unreachable when stopped, back when restarted", async () => {
    const { context, page, watch } = await open();
    try {
      assert.equal(await page.getAttribute("#status", "data-state"), "up");
      await stack.server.stop();
      await page.click("#recheck");
      await page.waitForSelector('#status[data-state="down"]');
      assert.equal(await page.textContent("#status-text"), `Server unreachable at ${stack.server.url}`);
      // The last known endpoint stays on the page to copy.
      assert.equal(await page.inputValue("#endpoint"), stack.server.mcpUrl);

      restarted = await startServer(stack.env, { port: stack.server.port, quiet: true });
      await page.click("#recheck");
      await page.waitForSelector('#status[data-state="up"]');
      assert.match((await page.textContent("#status-text")) ?? "", /Server reachable/);
      // The only errors: the browser's own report of the refused health check while the server was down.
      assert.deepEqual(
        watch.unexpected([/ERR_CONNECTION_REFUSED \[http:\/\/127\.0\.0\.1:\d+\/api\/health\]$/]),
        [],
      );
    } finally {
      await context.close();
    }
  });
});

/** In the page: every visible element with its own text, its colour and the opaque background behind it. */
function textColourPairs(): Array<{ text: string; fg: string; bg: string }> {
  const opaque = (c: string) => c !== "transparent" && !/rgba\(.*,\s*0\)$/.test(c);
  const out: Array<{ text: string; fg: string; bg: string }> = [];
  for (const el of document.querySelectorAll<HTMLElement>("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent?.trim());
    const rect = el.getBoundingClientRect();
    if (!own || rect.width < 2 || rect.height < 2 || el.closest("[hidden]")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    let bg = "rgb(255, 255, 255)";
    for (let node: HTMLElement | null = el; node; node = node.parentElement) {
      const c = getComputedStyle(node).backgroundColor;
      if (opaque(c)) {
        bg = c;
        break;
      }
    }
    out.push({ text: (el.textContent ?? "").trim().slice(0, 40), fg: style.color, bg });
  }
  return out;
}
