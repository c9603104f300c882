// Proxy mode asks Entra for the Graph permission the tools use at sign-in, so a user who has never
// consented (Alex, in the emulator) consents once while signing in, and his first Graph call works with
// no `consent_required` round trip. With GRAPH_ADMIN_CONSENT=true the sign-in asks only for the server's
// own scope (tests/browser/consent.test.ts covers the consent link that is then needed).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { rpcResult, toolCall } from "@entra-mcp/testing/mcp-request";
import { loginThroughProxy } from "@entra-mcp/testing/proxy-login";
import { type Stack, startStack } from "@entra-mcp/testing/stack";
import { assertIsUser, type ToolResultLike, toolJson } from "@entra-mcp/testing/tool-results";

describe("Graph consent at the proxy's sign-in", () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({ authMode: "proxy" });
  });
  after(async () => {
    await stack?.stop();
  });

  test("a user who never consented signs in once and the first Graph call works", async () => {
    const alex = stack.emulator.users.find((u) => !u.consented);
    assert.ok(alex, "the emulator seeds a user without Graph consent");
    const { access_token } = await loginThroughProxy({ mcpUrl: stack.server.mcpUrl, user: alex.upn });
    const { headers, body } = toolCall("get_graph_user_details");
    const res = await fetch(stack.server.mcpUrl, {
      method: "POST",
      headers: { ...headers, authorization: `Bearer ${access_token}` },
      body,
    });
    assert.equal(res.status, 200);
    const rpc = await rpcResult(res);
    const result = rpc.result as ToolResultLike;
    assert.ok(!result.isError, `the first Graph call failed: ${JSON.stringify(result)}`);
    assertIsUser(toolJson(result), alex);
  });
});
