/**
 * Proxy-mode state lives in Table Storage (Azurite here), not in the server process: a grant made
 * through a real client survives a restart of the server, and a second server process on the same
 * store (two instances behind one public URL, as on Azure Functions) honours and rotates the same
 * refresh tokens, including the replay detection that revokes a leaked grant.
 *
 * One stack for the file; the tests run in order and build on each other.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { signInV2 } from "@entra-mcp/testing/mcp-clients";
import { rpcResult, toolCall } from "@entra-mcp/testing/mcp-request";
import { StatefulOAuthProvider } from "@entra-mcp/testing/oauth-provider";
import { type ServerProcess, type Stack, startServer, startStack } from "@entra-mcp/testing/stack";
import { assertGraphUser } from "@entra-mcp/testing/tool-results";

let stack: Stack;
const extra: ServerProcess[] = [];

before(async () => {
  stack = await startStack();
});

after(async () => {
  for (const s of extra) await s.stop().catch(() => {});
  await stack?.stop();
});

const adele = () => stack.emulator.users[0];

/** Calls `get_graph_user_details` on `server` (its own port) with a bearer token, as a raw 2026-07-28 request. */
async function callTool(server: ServerProcess, accessToken: string) {
  const { headers, body } = toolCall("get_graph_user_details");
  const res = await fetch(`http://127.0.0.1:${server.port}/api/mcp`, {
    method: "POST",
    headers: { ...headers, authorization: `Bearer ${accessToken}` },
    body,
  });
  return { status: res.status, rpc: res.status === 200 ? await rpcResult(res) : undefined, res };
}

async function refresh(server: ServerProcess, clientId: string, refreshToken: string) {
  const res = await fetch(`http://127.0.0.1:${server.port}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: clientId,
      resource: stack.server.mcpUrl,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

describe("a grant outlives the server process that made it", () => {
  let clientId = "";
  let accessToken = "";
  let refreshToken = "";
  let first: ServerProcess;

  test("a real client signs in (DCR) against the first process", async () => {
    const provider = new StatefulOAuthProvider({ clientName: "Durability e2e" });
    const { client, authorizeUrl } = await signInV2(stack.server.mcpUrl, provider, adele());
    try {
      assertGraphUser(await client.callTool({ name: "get_graph_user_details", arguments: {} }), adele());
    } finally {
      await client.close();
    }
    clientId = authorizeUrl.searchParams.get("client_id") ?? "";
    accessToken = provider.currentTokens?.access_token ?? "";
    refreshToken = provider.currentTokens?.refresh_token ?? "";
    assert.ok(clientId && accessToken && refreshToken);
  });

  test("after a restart on the same store, the old access token still calls the tool", async () => {
    await stack.server.stop();
    assert.notEqual(
      stack.server.child.exitCode ?? stack.server.child.signalCode,
      null,
      "the first process is gone",
    );
    first = await startServer(stack.env, { port: stack.server.port, quiet: true });
    extra.push(first);
    const { status, rpc, res } = await callTool(first, accessToken);
    assert.equal(status, 200, `${status} ${res.headers.get("www-authenticate")}`);
    assertGraphUser(rpc?.result, adele());
  });

  test("a second process behind the same public URL refreshes; the first accepts the new token", async () => {
    // Same PUBLIC_URL (issuer and resource) as the first process, another listening port.
    const second = await startServer(stack.env, { quiet: true });
    extra.push(second);
    assert.notEqual(second.port, first.port);
    assert.equal(second.url, first.url, "one public URL for both instances");

    const r1 = await refresh(second, clientId, refreshToken);
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.ok(r1.body.access_token && r1.body.refresh_token);
    assert.notEqual(r1.body.refresh_token, refreshToken, "the refresh token rotated");

    const onFirst = await callTool(first, r1.body.access_token);
    assert.equal(onFirst.status, 200);
    assertGraphUser(onFirst.rpc?.result, adele());

    // And back: the first process rotates the token the second one issued.
    const r2 = await refresh(first, clientId, r1.body.refresh_token);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    const onSecond = await callTool(second, r2.body.access_token);
    assert.equal(onSecond.status, 200);
    assertGraphUser(onSecond.rpc?.result, adele());

    // A retry of the original refresh token inside the retry window, at either instance, gets the answer
    // the first rotation gave (a lost response or a client racing itself), not a second chain.
    const retry = await refresh(first, clientId, refreshToken);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.deepEqual(retry.body, r1.body);
  });
});
