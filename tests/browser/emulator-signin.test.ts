// The Entra emulator's sign-in in Debian's Chromium, as a person meets it: the browser opens the
// authorization_endpoint the emulator's discovery document advertises, with no certificate exception
// and no CA installed in the browser, picks an account with one click and lands on the client's
// loopback redirect URI; the code then redeems at the HTTPS token endpoint. Double clicks, Back and
// another pick, and a double-clicked Accept never end on an error page.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import { type Emulator, start } from "@entra-mcp/emulator";
import { pkce } from "@entra-mcp/emulator/login";
import { launchChromium, screenshot, watchProblems } from "@entra-mcp/testing/browser";
import type { Browser, BrowserContext, Page, Response } from "playwright-core";

/** HTTPS to the emulator from this process, trusting its CA for this request only. */
function httpsJson(
  em: Emulator,
  url: string,
  body?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: body ? "POST" : "GET",
        ca: em.caPem,
        headers: body ? { "content-type": "application/x-www-form-urlencoded" } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("Entra emulator sign-in in a real browser (no certificate warning)", () => {
  let em: Emulator;
  let browser: Browser;
  let callbackServer: Server;
  let callbackUrl: string;
  const arrived: URL[] = [];
  let authorizationEndpoint: string;

  before(async () => {
    [em, browser] = await Promise.all([start(), launchChromium()]);
    callbackServer = createServer((req, res) => {
      arrived.push(new URL(req.url ?? "/", `http://${req.headers.host}`));
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(
        '<!doctype html><html lang="en"><title>Done</title><link rel="icon" href="data:,"><p>Signed in.</p>',
      );
    });
    await new Promise<void>((r) => callbackServer.listen(0, "127.0.0.1", r));
    callbackUrl = `http://127.0.0.1:${(callbackServer.address() as { port: number }).port}/callback`;
    const doc = await httpsJson(em, `${em.issuer}/.well-known/openid-configuration`);
    authorizationEndpoint = String(doc.json.authorization_endpoint);
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((r) => (callbackServer ? callbackServer.close(() => r()) : r()));
    await em?.stop();
  });

  function authorizeUrl(extra: Record<string, string> = {}) {
    const { verifier, challenge } = pkce();
    const state = randomBytes(8).toString("hex");
    const u = new URL(authorizationEndpoint);
    u.search = new URLSearchParams({
      client_id: em.publicClient.clientId,
      response_type: "code",
      redirect_uri: callbackUrl,
      scope: `${em.apiApp.appIdUri}/${em.apiApp.scope} openid profile offline_access`,
      code_challenge: challenge,
      code_challenge_method: "S256",
      state,
      prompt: "select_account",
      ...extra,
    }).toString();
    return { url: u.toString(), verifier, state };
  }

  /** A context like a fresh browser profile: certificate errors are errors, nothing extra trusted. */
  async function newPage(): Promise<{ context: BrowserContext; page: Page; errorPages: string[] }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errorPages: string[] = [];
    page.on("response", async (res: Response) => {
      if (res.request().resourceType() !== "document" || !res.url().startsWith(em.browserAuthorityHost))
        return;
      const body = await res.text().catch(() => "");
      if (res.status() >= 400 || body.includes('content="error"'))
        errorPages.push(`${res.status()} ${res.url()}`);
    });
    return { context, page, errorPages };
  }

  const adele = () => em.users.find((u) => u.upn.startsWith("AdeleV"))!;
  const alex = () => em.users.find((u) => u.upn.startsWith("AlexW"))!;
  const tile = (page: Page, upn: string) => page.getByRole("button", { name: upn });
  /**
   * Waits for the loopback redirect. A double click submits twice: the browser aborts the first
   * navigation for the second (what a person sees is the page the second one ends on), and Playwright
   * reports the aborted one, so an aborted navigation is waited past rather than taken as the end.
   */
  async function landed(page: Page): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await page.waitForURL((u) => u.href.startsWith(callbackUrl));
        return;
      } catch (err) {
        if (attempt >= 3 || !/ERR_ABORTED|frame was detached/.test(String(err))) throw err;
      }
    }
  }

  test("discovery's authorize URL opens without a warning; one click lands on the loopback redirect with a code", async () => {
    assert.ok(authorizationEndpoint.startsWith("http://127.0.0.1:"), authorizationEndpoint);
    const { context, page, errorPages } = await newPage();
    const watch = await watchProblems(context);
    try {
      const { url, verifier, state } = authorizeUrl();
      const res = await page.goto(url);
      assert.equal(res?.status(), 200);
      assert.equal(await page.textContent("h1"), "Pick an account");
      assert.equal(await page.locator('input[type="radio"]').count(), 0, "nothing to select first");
      assert.equal(await page.getByRole("button").count(), em.users.length, "one button per account");
      await screenshot(page, "emulator-pick-an-account");

      arrived.length = 0;
      await Promise.all([landed(page), tile(page, adele().upn).click()]);
      assert.equal(await page.textContent("p"), "Signed in.");
      const back = arrived.pop()!;
      assert.equal(back.searchParams.get("state"), state);
      const code = back.searchParams.get("code");
      assert.ok(code, `no code in ${back}`);

      const token = await httpsJson(
        em,
        `${em.authorityHost}/${em.tenantId}/oauth2/v2.0/token`,
        new URLSearchParams({
          client_id: em.publicClient.clientId,
          grant_type: "authorization_code",
          code,
          redirect_uri: callbackUrl,
          code_verifier: verifier,
        }).toString(),
      );
      assert.equal(token.status, 200, JSON.stringify(token.json));
      assert.ok(token.json.access_token);
      assert.deepEqual(errorPages, []);
      assert.deepEqual(watch.unexpected(), []);
    } finally {
      await context.close();
    }
  });

  test("the same page over the HTTPS origin would have stopped a person at a certificate error", async () => {
    const { context, page } = await newPage();
    try {
      const https = authorizeUrl().url.replace(em.browserAuthorityHost, em.authorityHost);
      await assert.rejects(page.goto(https), /ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await context.close();
    }
  });

  test("double click, Back and another account, double-clicked Accept: never an error page", async () => {
    const { context, page, errorPages } = await newPage();
    try {
      await page.goto(authorizeUrl().url);
      await Promise.all([landed(page), tile(page, adele().upn).dblclick()]);

      // Back to the picker (reloaded: it isn't cached) and pick the other account.
      await page.goBack();
      await page.waitForSelector('meta[name="emulator-page"][content="signin"]', { state: "attached" });
      await Promise.all([landed(page), tile(page, alex().upn).click()]);

      // Signed in now (the session cookie works over plain HTTP), so prompt=consent goes straight to
      // the consent page; Accept clicked twice in a row still ends at the client.
      await page.goto(authorizeUrl({ prompt: "consent" }).url);
      await page.waitForSelector('meta[name="emulator-page"][content="consent"]', { state: "attached" });
      await Promise.all([landed(page), page.getByRole("button", { name: "Accept" }).dblclick()]);
      assert.ok(new URL(page.url()).searchParams.get("code"));
      assert.deepEqual(errorPages, []);
    } finally {
      await context.close();
    }
  });
});
