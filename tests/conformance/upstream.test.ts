/**
 * Conformance of the upstream leg, black box: when the user's stored Entra access token is near expiry,
 * a tool that needs On-Behalf-Of still works because the server renews it with the stored Entra refresh
 * token (OAuth 2.0 §6 at Entra; MCP "token passthrough": the client's token is never the OBO assertion),
 * and keeps the rotated Entra refresh token for the next renewal.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  assertWorks,
  type Client,
  registerClient,
  signInTokens,
} from "@entra-mcp/testing/authorization-server";
import { type Stack, startStack } from "@entra-mcp/testing/stack";

let stack: Stack;
let client: Client;

before(async () => {
  stack = await startStack({ authMode: "proxy" });
  client = await registerClient(stack);
});
after(async () => {
  await stack?.stop();
});

describe("upstream renewal (OAuth 2.0 RFC 6749 §6 with Entra; MCP token passthrough / OBO)", () => {
  it("a near-expired Entra token is renewed with the stored Entra refresh token, and the OBO tool works", async () => {
    // Seconds. 60 s is inside the server's five-minute renewal margin: the token is stale from the start.
    stack.emulator.options.accessTokenLifetime = 60;
    // Entra's refresh tokens become single-use: a server that kept using the first one would fail below.
    stack.emulator.options.strictRefreshTokenRotation = true;
    try {
      const tokens = await signInTokens(stack, client);
      const before = stack.emulator.counts();
      const first = await assertWorks(stack, tokens.access_token, "get_graph_user_details");
      assert.match(first, /Adele/);
      const mid = stack.emulator.counts();
      assert.ok(mid["token.refresh_token"] > before["token.refresh_token"], "no Entra refresh happened");
      assert.ok(mid["token.obo"] > before["token.obo"], "no OBO exchange happened");
      // Again: the renewed token is just as short-lived, so the server renews with the rotated refresh token.
      await assertWorks(stack, tokens.access_token, "get_graph_user_details");
      const end = stack.emulator.counts();
      assert.ok(end["token.refresh_token"] > mid["token.refresh_token"], "the second call did not renew");
    } finally {
      stack.emulator.options.accessTokenLifetime = undefined;
      stack.emulator.options.strictRefreshTokenRotation = false;
    }
  });
});
