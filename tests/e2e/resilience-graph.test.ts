/**
 * Microsoft Graph, and Entra at the sign-in callback, in trouble, driven through the emulator's fault
 * controls against a real server (the Entra legs of a tool call are in resilience-entra.test.ts):
 * every wait is bounded, transient trouble reads "try again shortly" with a delay (never "sign in
 * again"), the grant survives, and the next attempt after the trouble works without a new sign-in.
 *
 * The emulator issues one-minute tokens here, so every tool call renews the user's Entra token (the
 * upstream refresh) and exchanges it On-Behalf-Of: each leg can be made to fail on its own.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ADELE,
  authorize,
  authorizeUrl,
  browse,
  type Client,
  CookieJar,
  codeRequest,
  pkce,
  registerClient,
  signInTokens,
  type Tokens,
  toCallback,
  tokenRaw,
} from "@entra-mcp/testing/authorization-server";
import { assertTryAgain, assertWorks, timedGraphTool } from "@entra-mcp/testing/resilience";
import { type Stack, startStack } from "@entra-mcp/testing/stack";

let stack: Stack;
let client: Client;
let tokens: Tokens;

before(async () => {
  stack = await startStack();
  stack.emulator.options.accessTokenLifetime = 60;
  client = await registerClient(stack, { client_name: "Resilience" });
  tokens = await signInTokens(stack, client);
});

after(async () => {
  stack?.emulator.faults.clear();
  await stack?.stop();
});

/** Calls `get_graph_user_details` as the signed-in user (or with `accessToken`). */
function graphTool(accessToken = tokens.access_token) {
  return timedGraphTool(stack.server.mcpUrl, accessToken);
}

async function assertWorksAgain() {
  stack.emulator.faults.clear();
  assertWorks(await graphTool(), ADELE);
}

describe("Microsoft Graph", () => {
  test("503 then fine: retried once", async () => {
    stack.emulator.faults.add({ target: "graph.me", answer: 503, times: 1 });
    const r = await graphTool();
    assert.equal(r.result?.isError, undefined, r.text);
  });

  test("429 with a long Retry-After: 'throttled' with that delay, at once", async () => {
    stack.emulator.faults.add({ target: "graph.me", answer: 429, retryAfter: 90 });
    const r = await graphTool();
    assert.equal(r.result?.structuredContent?.error, "throttled", r.text);
    assert.equal(r.result?.structuredContent?.retryAfter, 90);
    assert.ok(r.ms < 5_000, `${r.ms} ms`);
    await assertWorksAgain();
  });

  test("a hang ends at Graph's deadline", async () => {
    stack.emulator.faults.add({ target: "graph.me", answer: "hang" });
    const r = await graphTool();
    assertTryAgain(r, /Graph/);
    assert.ok(r.ms < 20_000, `${r.ms} ms`);
    await assertWorksAgain();
  });
});

describe("code redemption at the callback", () => {
  test("Entra down: a page with Retry-After; reloading after it recovers completes the sign-in", async () => {
    const c = await registerClient(stack, { client_name: "Resilience callback" });
    const p = pkce();
    const jar = new CookieJar();
    const { callback } = await toCallback(stack, jar, authorizeUrl(stack, { client: c, pkce: p }));
    stack.emulator.faults.add({ target: "token.authorization_code", answer: 503 });
    const failed = await browse(jar, callback);
    assert.equal(failed.status, 503);
    assert.ok(Number(failed.headers.get("retry-after")) > 0);
    assert.match(failed.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await failed.text(), /try again/i);

    stack.emulator.faults.clear();
    const again = await browse(jar, callback);
    assert.equal(again.status, 302, await again.clone().text());
    const back = new URL(again.headers.get("location") as string);
    const code = back.searchParams.get("code");
    assert.ok(code, back.toString());
    const res = await tokenRaw(stack, codeRequest(stack, c, code, p.verifier));
    assert.equal(res.status, 200, await res.clone().text());
  });

  test("Entra hanging: the callback answers within the redemption deadline", async () => {
    const c = await registerClient(stack, { client_name: "Resilience hang" });
    stack.emulator.faults.add({ target: "token.authorization_code", answer: "hang" });
    const started = Date.now();
    const jar = new CookieJar();
    const { callback } = await toCallback(stack, jar, authorizeUrl(stack, { client: c, pkce: pkce() }));
    const failed = await browse(jar, callback);
    assert.ok(Date.now() - started < 15_000);
    // A timed-out redemption may have spent the code: the client is told to retry (or the page says so).
    if (failed.status === 302) {
      const back = new URL(failed.headers.get("location") as string);
      assert.equal(back.searchParams.get("error"), "temporarily_unavailable");
    } else assert.equal(failed.status, 503);
    stack.emulator.faults.clear();
    await authorize(stack, { client: c, pkce: pkce() });
  });
});
