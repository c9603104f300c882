// A 2026-07-28 `tools/call` builds only the tool its Mcp-Name header names (mcp/server.ts): that is only
// right while the header is the body's tool. These calls check the answers a client sees: the named tool
// runs, a header naming another tool than the body is refused before any tool runs, a name that is not
// ours is the SDK's ordinary unknown-tool error, and a listing still shows every tool.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MODERN, rpcResult, toolCall } from "@entra-mcp/testing/mcp-request";
import { createApp } from "../../api/src/app.ts";
import { loadConfig } from "../../api/src/config/config.ts";
import { silentLogger } from "../../api/src/core/log.ts";
import { tools } from "../../api/src/mcp/tools/index.ts";

const config = loadConfig({
  AUTH_MODE: "entra",
  PUBLIC_URL: "http://127.0.0.1:7071",
  ENTRA_TENANT_ID: "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
  ENTRA_CLIENT_ID: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
});
const principal = {
  tenantId: config.entra.tenantId,
  objectId: "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
  name: "Adele Vance",
  username: "adele@contoso.com",
  scopes: [`${config.entra.appIdUri}/${config.entra.scope}`],
  clientId: "client",
  roles: [],
  userAssertion: async () => "token",
};
const ran: string[] = [];
const app = createApp(config, {
  logger: silentLogger,
  verifier: { verify: async () => ({ principal, expiresAt: Math.floor(Date.now() / 1000) + 3600 }) },
  // Every Graph tool fails at its first step if it runs: the test sees which tool ran from that.
  graphTokens: {
    async getToken() {
      ran.push("graph");
      throw new Error("no Graph here");
    },
    invalidate() {},
  },
});

const post = (headers: Record<string, string>, body: string) =>
  app.fetch(
    new Request(`${config.resource}`, {
      method: "POST",
      headers: { ...headers, host: "127.0.0.1:7071", authorization: "Bearer token" },
      body,
    }),
  );

describe("a 2026-07-28 tools/call builds the tool its Mcp-Name header names", () => {
  it("the named tool runs and answers", async () => {
    const { headers, body } = toolCall("whoami");
    const res = await post(headers, body);
    assert.equal(res.status, 200);
    const { result } = await rpcResult(res);
    assert.ok(result, "a result");
    assert.equal((result.structuredContent as { objectId: string }).objectId, principal.objectId);
  });

  it("a header naming another tool than the body is refused, and neither tool runs", async () => {
    ran.length = 0;
    const { headers, body } = toolCall("get_graph_user_details");
    const res = await post({ ...headers, "mcp-name": "whoami" }, body);
    assert.equal(res.status, 400);
    assert.deepEqual(ran, []);
  });

  it("a tool that is not ours gets the unknown-tool error", async () => {
    const { headers, body } = toolCall("delete_everything");
    const { result, error } = await rpcResult(await post(headers, body));
    const text = JSON.stringify(error ?? result);
    assert.match(text, /delete_everything/);
    assert.match(text, /not found|unknown/i);
  });

  it("a listing shows every tool", async () => {
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/list",
      params: {
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientInfo": { name: "tests", version: "1.0.0" },
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    });
    const res = await post(
      {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": MODERN,
        "mcp-method": "tools/list",
      },
      body,
    );
    const { result } = await rpcResult(res);
    assert.ok(result, "a result");
    const names = (result.tools as Array<{ name: string }>).map((t) => t.name).sort();
    assert.deepEqual(names, tools.map((t) => t.name).sort());
  });
});
