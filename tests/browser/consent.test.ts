// The proxy's pages in Debian's Chromium, driven by a real MCP client (@modelcontextprotocol/client):
// the client asks to open the authorization URL, the browser answers the consent page, signs a test
// user in on the Entra emulator's page and follows the redirects to the client's loopback redirect URI;
// the client then finishes the sign-in and calls a tool; "Stay signed in", ticked by default, decides
// whether it also holds a refresh token. Deny ends with `access_denied`. A user without Graph consent
// grants it through the landing page's consent link. The pages share the landing page's look, and no
// page logs an error or a CSP violation.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import type { EmulatorUser } from "@entra-mcp/emulator";
import { DESKTOP, launchChromium, PHONE, screenshot, watchProblems } from "@entra-mcp/testing/browser";
import { StatefulOAuthProvider } from "@entra-mcp/testing/oauth-provider";
import { type Stack, startStack } from "@entra-mcp/testing/stack";
import { assertGraphUser } from "@entra-mcp/testing/tool-results";
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import type { Browser, BrowserContext, Page } from "playwright-core";

/** The client's loopback redirect URI: a real listener, as native MCP clients run one. */
async function loopbackCallback() {
  const waiting: Array<(url: URL) => void> = [];
  const arrived: URL[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    if (url.pathname !== "/callback") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(
      '<!doctype html><html lang="en"><title>Done</title><link rel="icon" href="data:,"><p>You can close this window.</p></html>',
    );
    const resolve = waiting.shift();
    if (resolve) resolve(url);
    else arrived.push(url);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/callback`,
    next: () => {
      const ready = arrived.shift();
      return ready ? Promise.resolve(ready) : new Promise<URL>((r) => waiting.push(r));
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("consent and sign-in through the browser with a real MCP client (proxy mode)", () => {
  let stack: Stack;
  let browser: Browser;
  let callback: Awaited<ReturnType<typeof loopbackCallback>>;
  const adele = () => stack.emulator.users.find((u) => u.upn.startsWith("AdeleV"))!;
  const alex = () => stack.emulator.users.find((u) => u.upn.startsWith("AlexW"))!;

  before(async () => {
    [stack, browser, callback] = await Promise.all([
      // As where an administrator is to grant Graph for the tenant: the sign-in asks only for the server's
      // own scope, so a user without consent meets `consent_required` at the first Graph call.
      startStack({ authMode: "proxy", env: { GRAPH_ADMIN_CONSENT: "true" } }),
      launchChromium(),
      loopbackCallback(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await callback?.close();
    await stack?.stop();
  });

  async function newContext(viewport = DESKTOP) {
    // No certificate exception: the proxy sends the browser to the emulator's plain-HTTP loopback pages.
    const context = await browser.newContext({ viewport });
    return { context, watch: await watchProblems(context) };
  }

  /** A v2 MCP client without a token: it registers and asks to open the authorization URL. */
  async function startClient(name: string) {
    const provider = new StatefulOAuthProvider({ clientName: name, redirectUrl: callback.url });
    const transport = () =>
      new StreamableHTTPClientTransport(new URL(stack.server.mcpUrl), { authProvider: provider as never });
    const first = transport();
    await assert.rejects(new Client({ name, version: "1.0.0" }).connect(first), UnauthorizedError);
    assert.ok(provider.authorizationUrl, "the client asked to open an authorization URL");
    return { provider, first, authorizeUrl: provider.authorizationUrl.toString(), transport };
  }

  /** Answers the Entra emulator's pages in the browser: picks `user`, accepts a consent prompt. */
  async function entraSignIn(page: Page, user: EmulatorUser) {
    const kind = () =>
      page.evaluate(() => document.querySelector('meta[name="emulator-page"]')?.getAttribute("content"));
    if ((await kind()) === "signin") {
      // One click on the account's tile, as on Entra's "Pick an account".
      await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: user.upn }).click()]);
    }
    if ((await kind()) === "consent") {
      await Promise.all([page.waitForNavigation(), page.click('button[name="acceptConsent"][value="true"]')]);
    }
  }

  /** Approve on the consent page, sign in, and return the redirect the client's listener received. */
  async function approveInBrowser(
    page: Page,
    authorizeUrl: string,
    user: EmulatorUser,
    opts: { navigate?: boolean } = {},
  ): Promise<URL> {
    if (opts.navigate !== false) await page.goto(authorizeUrl);
    await Promise.all([page.waitForNavigation(), page.click('button[value="approve"]')]);
    const received = callback.next();
    await entraSignIn(page, user);
    const back = await received;
    await page.waitForURL((u) => u.href.startsWith(callback.url));
    return back;
  }

  async function connected(transport: () => StreamableHTTPClientTransport, name: string) {
    const client = new Client({ name, version: "1.0.0" });
    await client.connect(transport());
    return client;
  }

  test("approve: consent page, Entra sign-in, back to the client, which then calls a tool", async () => {
    const { context, watch } = await newContext();
    const { provider, first, authorizeUrl, transport } = await startClient("Browser approve client");
    let client: Client | undefined;
    try {
      const page = await context.newPage();
      const res = await page.goto(authorizeUrl);
      assert.equal(res?.status(), 200);
      assert.equal(await page.textContent("h1"), "Allow access?");
      assert.equal(await page.textContent(".client-name"), "Browser approve client");
      assert.match((await page.textContent("dl.facts")) ?? "", new RegExp(new URL(callback.url).host));
      const csp = res?.headers()["content-security-policy"] ?? "";
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      await screenshot(page, "consent-desktop");
      await page.setViewportSize(PHONE);
      const [scrollWidth, innerWidth] = await page.evaluate(() => [
        document.documentElement.scrollWidth,
        window.innerWidth,
      ]);
      assert.ok(scrollWidth <= innerWidth, `the consent page fits a phone (${scrollWidth}px)`);
      await screenshot(page, "consent-phone");
      await page.setViewportSize(DESKTOP);

      // "Stay signed in" is offered (the client registered for refresh tokens), ticked, so Approve is one click.
      const stay = page.getByRole("checkbox", { name: "Stay signed in" });
      assert.equal(await stay.isChecked(), true);
      assert.match((await page.textContent("form")) ?? "", /until you disconnect it under Connected apps/);

      // Keyboard: the checkbox, then Approve, each with a visible focus ring.
      const focused = async () => {
        await page.keyboard.press("Tab");
        return page.evaluate(() => {
          const el = document.activeElement as HTMLInputElement;
          return { name: el.name, outline: getComputedStyle(el).outlineStyle };
        });
      };
      assert.deepEqual(await focused(), { name: "stay_signed_in", outline: "solid" });
      assert.deepEqual(await focused(), { name: "decision", outline: "solid" });
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Approve");

      const received = callback.next();
      await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
      assert.equal(await page.getAttribute('meta[name="emulator-page"]', "content"), "signin");
      await entraSignIn(page, adele());
      const back = await received;
      await page.waitForURL((u) => u.href.startsWith(callback.url));
      assert.ok(back.searchParams.get("code"), `no code in ${back}`);
      assert.equal(back.searchParams.get("iss"), stack.server.url);

      await first.finishAuth(back.searchParams);
      await first.close();
      assert.ok(provider.currentTokens?.access_token, "the client holds an access token");
      assert.ok(provider.currentTokens?.refresh_token, "and, staying signed in, a refresh token");
      client = await connected(transport, "Browser approve client");
      assertGraphUser(await client.callTool({ name: "get_graph_user_details", arguments: {} }), adele());
      assert.deepEqual(watch.unexpected(), []);
    } finally {
      await client?.close();
      await context.close();
    }
  });

  test("Stay signed in unticked: the client connects, without a refresh token", async () => {
    const { context, watch } = await newContext();
    const { provider, first, authorizeUrl, transport } = await startClient("Browser short-stay client");
    let client: Client | undefined;
    try {
      const page = await context.newPage();
      await page.goto(authorizeUrl);
      await page.getByRole("checkbox", { name: "Stay signed in" }).uncheck();
      const back = await approveInBrowser(page, authorizeUrl, adele(), { navigate: false });
      await first.finishAuth(back.searchParams);
      await first.close();
      assert.ok(provider.currentTokens?.access_token, "the client holds an access token");
      assert.equal(provider.currentTokens?.refresh_token, undefined, "and no refresh token");
      client = await connected(transport, "Browser short-stay client");
      assertGraphUser(await client.callTool({ name: "get_graph_user_details", arguments: {} }), adele());
      assert.deepEqual(watch.unexpected(), []);
    } finally {
      await client?.close();
      await context.close();
    }
  });

  test("deny: the client gets access_denied and no token; Entra is never asked", async () => {
    const { context, watch } = await newContext();
    const { provider, first, authorizeUrl } = await startClient("Browser deny client");
    try {
      const page = await context.newPage();
      await page.goto(authorizeUrl);
      const authorizeCalls = stack.emulator.counts().authorize ?? 0;
      const received = callback.next();
      await page.click('button[value="deny"]');
      const back = await received;
      await page.waitForURL((u) => u.href.startsWith(callback.url));
      assert.equal(back.searchParams.get("error"), "access_denied");
      assert.equal(back.searchParams.get("code"), null);
      assert.equal(back.searchParams.get("iss"), stack.server.url);
      assert.equal(stack.emulator.counts().authorize ?? 0, authorizeCalls, "no sign-in at Entra");
      await assert.rejects(first.finishAuth(back.searchParams));
      assert.equal(provider.currentTokens, undefined);
      assert.deepEqual(watch.unexpected(), []);
    } finally {
      await first.close();
      await context.close();
    }
  });

  test("Conditional Access step-up: the tool's link re-runs the Entra sign-in in the browser; the same client's retry works", async () => {
    const { context, watch } = await newContext();
    const { first, authorizeUrl, transport } = await startClient("Browser step-up client");
    let client: Client | undefined;
    try {
      const page = await context.newPage();
      const back = await approveInBrowser(page, authorizeUrl, adele());
      await first.finishAuth(back.searchParams);
      await first.close();
      client = await connected(transport, "Browser step-up client");
      assertGraphUser(await client.callTool({ name: "get_graph_user_details", arguments: {} }), adele());

      // Adele's organisation now requires MFA for Graph: her next call is refused with a step-up link.
      stack.emulator.conditionalAccess.require(adele().oid, { code: 50076 });
      const refused = (await client.callTool({ name: "search_people", arguments: { query: "meg" } })) as {
        isError?: boolean;
        structuredContent?: { error?: string; url?: string };
      };
      assert.equal(refused.isError, true);
      assert.equal(refused.structuredContent?.error, "insufficient_claims");
      const link = refused.structuredContent?.url ?? "";
      assert.ok(link.startsWith(`${stack.server.url}/oauth/step-up?t=`), link);

      // She opens it: Entra's sign-in page, her account first, with the extra step; one click completes it.
      await page.goto(link);
      await page.waitForSelector('meta[name="emulator-page"][content="signin"]', { state: "attached" });
      assert.ok(await page.isVisible("#mfa"), "the sign-in says an extra verification is asked");
      await entraSignIn(page, adele());
      await page.waitForURL((u) => u.pathname === "/oauth/callback");
      assert.equal(await page.textContent("h1"), "Sign-in step completed");
      await screenshot(page, "step-up-complete");

      // The same client, same tokens, no reconnect: the call works now.
      const people = (await client.callTool({ name: "search_people", arguments: { query: "meg" } })) as {
        isError?: boolean;
        structuredContent?: { people?: { name: string }[] };
      };
      assert.notEqual(people.isError, true);
      assert.equal(people.structuredContent?.people?.[0]?.name, "Megan Bowen");
      assert.deepEqual(watch.unexpected(), []);
    } finally {
      stack.emulator.conditionalAccess.clear();
      await client?.close();
      await context.close();
    }
  });

  test("missing Graph consent: the tool says so, and the landing page's consent link fixes it", async () => {
    const { context, watch } = await newContext();
    const { first, authorizeUrl, transport } = await startClient("Browser consent client");
    let client: Client | undefined;
    try {
      const page = await context.newPage();
      const back = await approveInBrowser(page, authorizeUrl, alex());
      await first.finishAuth(back.searchParams);
      await first.close();
      client = await connected(transport, "Browser consent client");
      const refused = (await client.callTool({ name: "get_graph_user_details", arguments: {} })) as {
        isError?: boolean;
        content: Array<{ text?: string }>;
      };
      assert.equal(refused.isError, true);
      assert.match(refused.content[0]?.text ?? "", /AADSTS65001/);

      // Alex opens the landing page and follows its consent link (it opens in a new tab).
      await page.goto(`${stack.server.url}/`);
      await page.waitForSelector("html[data-ready]");
      const health = (await (await fetch(`${stack.server.url}/api/health`)).json()) as { consentUrl: string };
      // The error's link asks for exactly what the tool needs; the landing page's for every tool's.
      const errorLink = new URL((refused.content[0]?.text ?? "").match(/https?:\/\/\S+/)?.[0] ?? "");
      assert.equal(errorLink.searchParams.get("scope"), "https://graph.microsoft.com/User.Read");
      assert.ok(
        new URL(health.consentUrl).searchParams
          .get("scope")
          ?.split(" ")
          .includes("https://graph.microsoft.com/User.Read"),
        "the landing page's link grants it too",
      );
      const [popup] = await Promise.all([context.waitForEvent("page"), page.click("#consent-link")]);
      await popup.waitForLoadState();
      await entraSignIn(popup, alex());
      await popup.waitForURL((u) => u.pathname === "/oauth/consent-complete");
      assert.equal(await popup.textContent("h1"), "Consent granted");
      await screenshot(popup, "consent-complete");

      assertGraphUser(await client.callTool({ name: "get_graph_user_details", arguments: {} }), alex());
      assert.deepEqual(watch.unexpected(), []);
    } finally {
      await client?.close();
      await context.close();
    }
  });

  test("the proxy's pages look like the landing page: same colours, type and header, light and dark", async () => {
    for (const colorScheme of ["light", "dark"] as const) {
      const context: BrowserContext = await browser.newContext({ viewport: DESKTOP, colorScheme });
      const watch = await watchProblems(context);
      try {
        const page = await context.newPage();
        const look = () =>
          page.evaluate(() => {
            const body = getComputedStyle(document.body);
            const root = getComputedStyle(document.documentElement);
            return {
              accent: root.getPropertyValue("--accent"),
              surface: root.getPropertyValue("--surface"),
              background: body.backgroundColor,
              color: body.color,
              font: body.fontFamily,
              brand: document.querySelector(".site-header .brand")?.textContent?.trim(),
            };
          });
        await page.goto(`${stack.server.url}/`);
        await page.waitForSelector("html[data-ready]");
        const landing = await look();
        // An error page the API renders (an unknown client), as a person would see it.
        const res = await page.goto(
          `${stack.server.url}/authorize?client_id=not-registered&response_type=code`,
        );
        assert.equal(res?.status(), 400);
        assert.deepEqual(await look(), landing);
        assert.equal(landing.brand, "Entra MCP server");
        await screenshot(page, `error-${colorScheme}`);
        // The only console error is Chromium reporting that 400 itself.
        assert.deepEqual(watch.unexpected([/status of 400 .*\/authorize\?client_id=not-registered/]), []);
      } finally {
        await context.close();
      }
    }
  });
});
