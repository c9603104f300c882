// The Connected apps page in Debian's Chromium, against two server instances on one store behind one
// public URL (a round-robin front end: every request of a flow may land on either instance). A person
// signs in with Entra through the server's own sign-in, sees the apps they connected (name, host,
// approved, last used, what each may do), revokes one and then all; each revoked token is refused at
// once by the instance that revoked it and within GRANT_STATE_CACHE_MS by the other. Reconnecting the same client replaces its grant. An administrator (the
// MCP.Admin app role, assigned in the emulator) finds and revokes another user's grants on the same
// page and through the HTTP endpoint with an Entra token; every revocation is an audit line. The page's
// cookie and headers are what SECURITY.md says, and forged or cross-site posts are refused.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { EmulatorUser } from "@entra-mcp/emulator";
import { loginPublicClient, pkce } from "@entra-mcp/emulator/login";
import { type Client, nextCaller, registerClient } from "@entra-mcp/testing/authorization-server";
import { type Balancer, startBalancer } from "@entra-mcp/testing/balancer";
import { DESKTOP, launchChromium, PHONE, screenshot, watchProblems } from "@entra-mcp/testing/browser";
import { walkAuthorization } from "@entra-mcp/testing/browser-walk";
import { toolCall } from "@entra-mcp/testing/mcp-request";
import { freePort, type ServerProcess, type Stack, startServer, startStack } from "@entra-mcp/testing/stack";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { GRANT_STATE_CACHE_MS } from "../../api/src/authorization-server/tokens/grants.ts";

let stack: Stack;
let second: ServerProcess;
let front: Balancer;
let browser: Browser;
const instances = () => [stack.server, second];
const adele = () => stack.emulator.users.find((u) => u.upn.startsWith("AdeleV"))!;
const alex = () => stack.emulator.users.find((u) => u.upn.startsWith("AlexW"))!;

before(async () => {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  [stack, browser] = await Promise.all([startStack({ publicUrl }), launchChromium()]);
  second = await startServer(stack.env, { quiet: true });
  front = await startBalancer(() => [stack.server.port, second.port], port);
});

after(async () => {
  await browser?.close();
  await front?.stop();
  await second?.stop();
  await stack?.stop();
});

/** Connects `client` as `user` (consent, Entra, code redemption) through the front end; returns its access token. */
async function connect(client: Client, user: EmulatorUser): Promise<string> {
  const { verifier, challenge } = pkce();
  const authorize = new URL(`${front.url}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    code_challenge: challenge,
    code_challenge_method: "S256",
    scope: "user_impersonation offline_access",
    resource: `${front.url}/api/mcp`,
    state: "s",
  }).toString();
  const { url } = await walkAuthorization(authorize.toString(), { user: user.upn });
  const code = url.searchParams.get("code");
  assert.ok(code, `no code: ${url}`);
  const res = await fetch(`${front.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: client.client_id,
      code,
      redirect_uri: client.redirect_uris[0],
      code_verifier: verifier,
      resource: `${front.url}/api/mcp`,
    }),
  });
  const body = (await res.json()) as { access_token: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token;
}

/** `whoami` with `token` at each instance directly (not through the front end): the statuses. */
async function statusesOnEachInstance(token: string): Promise<number[]> {
  return Promise.all(
    instances().map(async (s) => {
      const { headers, body } = toolCall("whoami");
      const res = await fetch(`http://127.0.0.1:${s.port}/api/mcp`, {
        method: "POST",
        headers: { ...headers, authorization: `Bearer ${token}` },
        body,
      });
      await res.body?.cancel();
      return res.status;
    }),
  );
}

/**
 * Right after a revocation: the instance that made it refuses the token at once, and every instance
 * refuses it once GRANT_STATE_CACHE_MS has passed (an instance answers from the grant row it last read
 * for that long). The statuses at that point.
 */
async function statusesAfterRevocation(token: string): Promise<number[]> {
  const revokedAt = Date.now();
  const first = await statusesOnEachInstance(token);
  assert.ok(first.includes(401), `no instance refused the revoked token at once: ${first}`);
  const wait = revokedAt + GRANT_STATE_CACHE_MS - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  return statusesOnEachInstance(token);
}

async function newContext(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, ignoreHTTPSErrors: true });
  return { context, watch: await watchProblems(context) };
}

/** Opens the page, signs in with Microsoft as `user` (the emulator's account tile), lands on the list. */
async function signInToPage(context: BrowserContext, user: EmulatorUser): Promise<Page> {
  const page = await context.newPage();
  const res = await page.goto(`${front.url}/connected-apps`);
  assert.equal(res?.status(), 200);
  await Promise.all([
    page.waitForNavigation(),
    page.getByRole("link", { name: "Sign in with Microsoft" }).click(),
  ]);
  assert.equal(await page.getAttribute('meta[name="emulator-page"]', "content"), "signin");
  await Promise.all([
    page.waitForURL(
      (u) => u.href.startsWith(`${front.url}/connected-apps`) && !u.pathname.endsWith("/callback"),
    ),
    page.getByRole("button", { name: user.upn }).click(),
  ]);
  assert.match((await page.textContent("main")) ?? "", new RegExp(`Signed in as ${user.displayName}`));
  return page;
}

const grantNames = async (page: Page, scope = "ul.grants:not(.admin-results)") =>
  page.locator(`${scope} li.grant h3`).allTextContents();

interface Audit {
  event: string;
  via: string;
  actor: { tid: string; oid: string; role: string };
  user: { oid: string };
  client: { id: string };
}

const auditLines = () =>
  instances()
    .flatMap((s) => s.output().split("\n"))
    .filter((l) => l.includes('"audit: grant revoked"'))
    .map((l) => JSON.parse(l) as Audit);

describe("Connected apps: a person sees and revokes the apps they connected", () => {
  let alpha: Client;
  let beta: Client;
  let alphaToken = "";
  let betaToken = "";

  test("reconnecting the same client replaces its grant; the earlier token stops working", async () => {
    alpha = await registerClient(stack, { client_name: "Alpha <b>app</b>" }, nextCaller());
    beta = await registerClient(stack, { client_name: "Beta app" }, nextCaller());
    // Registration went to the instance the stack started with: the front end's URL is the public one.
    const first = await connect(alpha, adele());
    betaToken = await connect(beta, adele());
    assert.deepEqual(await statusesOnEachInstance(first), [200, 200]);
    alphaToken = await connect(alpha, adele());
    assert.deepEqual(await statusesAfterRevocation(first), [401, 401], "the replaced grant's token");
    assert.deepEqual(await statusesOnEachInstance(alphaToken), [200, 200]);
    assert.ok(new Set(front.served).size === 2, "both instances served the sign-ins");
  });

  test("the page lists each grant with its client, host, approval, last use and abilities", async () => {
    const { context, watch } = await newContext();
    try {
      const page = await signInToPage(context, adele());
      assert.deepEqual(await grantNames(page), ["Alpha <b>app</b>", "Beta app"], "newest first, escaped");
      const alphaItem = page.locator("li.grant", { hasText: "Alpha" });
      const facts = (await alphaItem.textContent()) ?? "";
      assert.match(facts, /127\.0\.0\.1:53682/, "the host its answers go to");
      assert.match(facts, /registered itself; name not verified/);
      assert.match(facts, /Approved\s*\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
      assert.match(facts, /Last used\s*\d{4}-\d\d-\d\d \d\d:\d\d UTC \(to within 5 minutes\)/);
      assert.match(facts, /Use this server's tools as you/);
      assert.match(facts, /Stay signed in/);
      assert.equal(await page.locator("section.admin").count(), 0, "no administration without the role");
      await screenshot(page, "connected-apps-desktop");
      await page.setViewportSize(PHONE);
      const [scrollWidth, innerWidth] = await page.evaluate(() => [
        document.documentElement.scrollWidth,
        window.innerWidth,
      ]);
      assert.ok(scrollWidth <= innerWidth, `the page fits a phone (${scrollWidth}px)`);
      await page.setViewportSize(DESKTOP);

      // Revoke one: the instances refuse its token (at once, or within the bound); the other app keeps working.
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole("button", { name: "Revoke Beta app" }).click(),
      ]);
      assert.match((await page.textContent(".notice")) ?? "", /Revoked 1 grant/);
      assert.deepEqual(await statusesAfterRevocation(betaToken), [401, 401]);
      assert.deepEqual(await statusesOnEachInstance(alphaToken), [200, 200]);
      assert.deepEqual(await grantNames(page), ["Alpha <b>app</b>"]);

      // Revoke all.
      await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Revoke all" }).click()]);
      assert.deepEqual(await statusesAfterRevocation(alphaToken), [401, 401]);
      assert.equal(await page.locator("li.grant").count(), 0);
      assert.match((await page.textContent("main")) ?? "", /No apps are connected/);

      const audits = auditLines().filter((l) => l.user.oid === adele().oid);
      assert.ok(audits.length >= 2, "an audit line per revocation");
      for (const a of audits) {
        assert.equal(a.event, "grant.revoked");
        assert.equal(a.actor.role, "user");
        assert.equal(a.via, "page");
      }
      assert.deepEqual(watch.unexpected(), []);
    } finally {
      await context.close();
    }
  });

  test("the session cookie and headers; forged, cross-site and signed-out posts are refused", async () => {
    const gamma = await registerClient(stack, { client_name: "Gamma app" }, nextCaller());
    const token = await connect(gamma, adele());
    const { context } = await newContext();
    try {
      const page = await signInToPage(context, adele());
      const res = await page.reload();
      const headers = res?.headers() ?? {};
      assert.match(headers["content-security-policy"] ?? "", /frame-ancestors 'none'/);
      assert.match(headers["content-security-policy"] ?? "", /default-src 'none'/);
      assert.equal(headers["x-frame-options"], "DENY");
      assert.equal(headers["cache-control"], "no-store");
      const cookie = (await context.cookies(front.url)).find((c) => c.name.endsWith("mcp-apps"));
      assert.ok(cookie, "a session cookie");
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, "Lax");
      assert.ok(cookie.expires > 0 && cookie.expires - Date.now() / 1000 <= 15 * 60 + 5, "short-lived");

      const grantId = await page.locator("li.grant").first().getAttribute("data-grant");
      const csrf = await page.locator('input[name="csrf_token"]').first().inputValue();
      const post = (form: Record<string, string>, headers: Record<string, string> = {}) =>
        page.request.post(`${front.url}/connected-apps/revoke`, { form, headers, maxRedirects: 0 });
      assert.equal((await post({ grant: grantId ?? "", csrf_token: "wrong" })).status(), 403);
      assert.equal(
        (await post({ grant: grantId ?? "", csrf_token: csrf }, { origin: "https://evil.example" })).status(),
        403,
      );
      // Without the administrator role, another user's grant or a bulk revocation is refused.
      assert.equal((await post({ all: "user", user: alex().upn, csrf_token: csrf })).status(), 403);
      // Another browser, without the session, with a stolen CSRF token.
      const other = await browser.newContext();
      const stranger = await other.request.post(`${front.url}/connected-apps/revoke`, {
        form: { grant: grantId ?? "", csrf_token: csrf },
        maxRedirects: 0,
      });
      await other.close();
      assert.equal(stranger.status(), 403);
      assert.deepEqual(await statusesOnEachInstance(token), [200, 200], "nothing was revoked");

      // Framed by another site: the browser refuses to render it.
      const framed = await context.newPage();
      await framed.setContent(`<iframe src="${front.url}/connected-apps"></iframe>`);
      await framed.waitForTimeout(300);
      const frame = framed.frames().find((f) => f.url().includes("/connected-apps"));
      assert.equal(
        (await frame
          ?.locator("h1")
          .count()
          .catch(() => 0)) ?? 0,
        0,
        "not rendered in a frame",
      );

      await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Sign out" }).click()]);
      assert.equal(
        (await context.cookies(front.url)).find((c) => c.name.endsWith("mcp-apps")),
        undefined,
      );
      assert.equal((await post({ grant: grantId ?? "", csrf_token: csrf })).status(), 403, "signed out");
    } finally {
      await context.close();
    }
  });
});

describe("Connected apps: administrators revoke by user or by client", () => {
  let delta: Client;
  let deltaToken = "";

  before(() => {
    stack.emulator.assignAppRole(alex().upn, "MCP.Admin");
  });

  test("on the page: find a user's grants by sign-in name, revoke one; find by client, revoke all", async () => {
    delta = await registerClient(stack, { client_name: "Delta app" }, nextCaller());
    deltaToken = await connect(delta, adele());
    const alexToken = await connect(delta, alex());
    const { context, watch } = await newContext();
    try {
      const page = await signInToPage(context, alex());
      assert.equal(await page.textContent("#admin-title"), "Administration");
      await page.fill('input[name="user"]', adele().upn);
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole("button", { name: "Find grants" }).click(),
      ]);
      const found = await grantNames(page, "ul.admin-results");
      assert.ok(found.includes("Delta app") && found.includes("Gamma app"), found.join());
      assert.match((await page.textContent("ul.admin-results")) ?? "", new RegExp(adele().upn));
      await Promise.all([
        page.waitForNavigation(),
        page.locator("ul.admin-results li.grant", { hasText: "Delta app" }).getByRole("button").click(),
      ]);
      assert.match((await page.textContent(".notice")) ?? "", /Revoked 1 grant/);
      assert.deepEqual(await statusesAfterRevocation(deltaToken), [401, 401]);
      assert.ok(!(await grantNames(page, "ul.admin-results")).includes("Delta app"), "the search is kept");

      await page.fill('input[name="user"]', "");
      await page.fill('input[name="client"]', delta.client_id);
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole("button", { name: "Find grants" }).click(),
      ]);
      assert.deepEqual(await grantNames(page, "ul.admin-results"), ["Delta app"], "Alex's own");
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole("button", { name: "Revoke all of this client's grants" }).click(),
      ]);
      assert.deepEqual(await statusesAfterRevocation(alexToken), [401, 401]);

      const audit = auditLines().find((l) => l.client.id === delta.client_id && l.user.oid === adele().oid);
      assert.deepEqual(audit?.actor, { tid: stack.emulator.tenantId, oid: alex().oid, role: "admin" });
      assert.deepEqual(watch.unexpected(), []);
    } finally {
      await context.close();
    }
  });

  test("over HTTP with an Entra token carrying the role: list, revoke by user; 401 and 403 otherwise", async () => {
    const epsilon = await registerClient(stack, { client_name: "Epsilon app" }, nextCaller());
    const token = await connect(epsilon, adele());
    const entraToken = async (user: EmulatorUser) =>
      (
        await loginPublicClient({
          authorityHost: stack.emulator.authorityHost,
          tenantId: stack.emulator.tenantId,
          clientId: stack.emulator.publicClient.clientId,
          scope: `${stack.emulator.apiApp.appIdUri}/user_impersonation`,
          user: user.upn,
        })
      ).access_token;
    const admin = await entraToken(alex());
    const api = (method: string, path: string, bearer?: string) =>
      fetch(`${front.url}${path}`, {
        method,
        headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      });
    const q = `/api/admin/grants?user=${encodeURIComponent(adele().upn)}`;

    assert.equal((await api("GET", q)).status, 401);
    assert.equal((await api("GET", q, "not-a-token")).status, 401);
    assert.equal((await api("GET", q, token)).status, 401, "the server's own tokens are not Entra's");
    const plain = await api("GET", q, await entraToken(adele()));
    assert.equal(plain.status, 403, "no role");

    const listed = await api("GET", q, admin);
    assert.equal(listed.status, 200);
    const { grants } = (await listed.json()) as {
      grants: Array<{ grantId: string; clientId: string; oid: string; client: { name: string } }>;
    };
    const mine = grants.find((g) => g.clientId === epsilon.client_id);
    assert.equal(mine?.client.name, "Epsilon app");
    assert.equal(mine?.oid, adele().oid);
    assert.ok(
      grants.every((g) => !JSON.stringify(g).includes("upstream")),
      "no sealed tokens listed",
    );

    const byId = await api("DELETE", `/api/admin/grants/${mine?.grantId}`, admin);
    assert.equal(byId.status, 204);
    assert.deepEqual(await statusesAfterRevocation(token), [401, 401]);
    assert.equal((await api("DELETE", `/api/admin/grants/${mine?.grantId}`, admin)).status, 404);

    const again = await connect(epsilon, adele());
    const bulk = await api("DELETE", q, admin);
    assert.equal(bulk.status, 200);
    assert.ok(((await bulk.json()) as { revoked: number }).revoked >= 1);
    assert.deepEqual(await statusesAfterRevocation(again), [401, 401]);
    assert.equal(((await (await api("GET", q, admin)).json()) as { grants: unknown[] }).grants.length, 0);
    assert.ok(auditLines().some((l) => l.via === "api" && l.actor.oid === alex().oid));
  });
});
