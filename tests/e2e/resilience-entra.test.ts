/**
 * Entra ID and Graph in trouble, driven through the emulator's fault controls against a real server:
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
  type Client,
  refresh,
  registerClient,
  signInTokens,
  type Tokens,
} from "@entra-mcp/testing/authorization-server";
import { assertTryAgain, assertWorks, timedGraphTool } from "@entra-mcp/testing/resilience";
import { type Stack, startServer, startStack } from "@entra-mcp/testing/stack";

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
  await stack?.server.stop(); // a restarted server is not among the ones `stack.stop()` knows
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

describe("On-Behalf-Of exchange", () => {
  test("one 503 is retried once, quickly, and the user never notices", async () => {
    stack.emulator.faults.add({ target: "token.obo", answer: 503, times: 1 });
    const r = await graphTool();
    assert.equal(r.result?.isError, undefined, r.text);
    assert.ok(r.ms < 5_000, `${r.ms} ms`);
  });

  test("Entra answering 503 says 'try again shortly' with retryAfter, fast, not 'needs attention'", async () => {
    stack.emulator.faults.add({ target: "token.obo", answer: 503 });
    const r = await graphTool();
    assertTryAgain(r, /Entra/);
    assert.ok(r.ms < 5_000, `answered in ${r.ms} ms`);
    await assertWorksAgain();
  });

  test("429 with Retry-After: 120 is not waited out", async () => {
    stack.emulator.faults.add({ target: "token.obo", answer: 429, retryAfter: 120 });
    const r = await graphTool();
    assertTryAgain(r, /Entra/);
    assert.ok(r.ms < 5_000, `answered in ${r.ms} ms`);
    await assertWorksAgain();
  });

  test("a hanging exchange ends at its deadline for every call that shares it; the next attempt works", async () => {
    stack.emulator.faults.add({ target: "token.obo", answer: "hang", times: 1 });
    const [a, b] = await Promise.all([graphTool(), graphTool()]);
    for (const r of [a, b]) {
      assertTryAgain(r, /Entra/);
      assert.ok(r.ms < 20_000, `answered in ${r.ms} ms`);
    }
    await assertWorksAgain();
  });

  test("a connection reset is retried once", async () => {
    stack.emulator.faults.add({ target: "token.obo", answer: "reset", times: 1 });
    const r = await graphTool();
    assert.equal(r.result?.isError, undefined, r.text);
  });

  test("the managed-identity endpoint failing is 'try again', not a misconfiguration", async () => {
    // A fresh server has no cached client assertion.
    stack.emulator.faults.add({ target: "mi", answer: 503 });
    await stack.server.stop();
    stack.server = await startServer(stack.env, { port: stack.server.port, quiet: true });
    const r = await graphTool();
    assert.equal(r.result?.isError, true, r.text);
    assert.equal(r.result?.structuredContent?.error, "upstream_unavailable", r.text);
    assert.doesNotMatch(r.text, /needs attention|misconfigured/i);
    await assertWorksAgain();
  });
});

describe("renewing the user's Entra sign-in (upstream refresh)", () => {
  for (const answer of [503, 429, "reset"] as const) {
    test(`${answer} keeps the grant and says 'try again shortly', not 'sign-in expired'`, async () => {
      stack.emulator.faults.add({
        target: "token.refresh_token",
        answer,
        ...(answer === "reset" ? {} : { retryAfter: 30 }),
      });
      const r = await graphTool();
      assertTryAgain(r, /Entra/);
      assert.ok(r.ms < 12_000, `answered in ${r.ms} ms`);
      await assertWorksAgain();
    });
  }

  test("a hang ends at the refresh deadline", async () => {
    stack.emulator.faults.add({ target: "token.refresh_token", answer: "hang" });
    const r = await graphTool();
    assertTryAgain(r, /Entra/);
    assert.ok(r.ms < 17_000, `answered in ${r.ms} ms`);
    await assertWorksAgain();
  });

  test("the client's own refresh still works afterwards: no grant was lost", async () => {
    const res = await refresh(stack, client, tokens.refresh_token);
    assert.equal(res.status, 200, await res.clone().text());
    tokens = (await res.json()) as Tokens;
    await assertWorksAgain();
  });
});
