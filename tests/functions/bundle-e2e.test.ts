// The built Function App answers MCP end to end: the bundle (built to a temporary folder outside the
// repository) is loaded in a child Node process the way the worker loads it, configured from the local
// Entra emulator, and driven with @azure/functions HttpRequest objects carrying an emulator-minted token:
// initialize, tools/call whoami (token validation) and tools/call get_graph_user_details (OBO with the
// managed-identity assertion, then Graph), all inside the bundle.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Emulator, start } from "@entra-mcp/emulator";
import { toolCall } from "@entra-mcp/testing/mcp-request";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PUBLIC_URL = "https://func-api-e2e.azurewebsites.net";

interface HarnessResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A JSON-RPC response body, whether sent as JSON or as an SSE stream. */
function rpc(res: HarnessResponse): { result?: Record<string, unknown>; error?: { message: string } } {
  if ((res.headers["content-type"] ?? "").includes("text/event-stream")) {
    const data = res.body
      .split("\n")
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trim());
    return JSON.parse(data.at(-1) ?? "{}");
  }
  return JSON.parse(res.body);
}

function toolJson(res: HarnessResponse): Record<string, unknown> {
  const result = rpc(res).result as { isError?: boolean; content: Array<{ type: string; text: string }> };
  assert.ok(!result.isError, JSON.stringify(result));
  const text = result.content.find((c) => c.type === "text")?.text ?? "{}";
  return JSON.parse(text);
}

describe("the bundled Functions app against the Entra emulator", () => {
  let emu: Emulator;
  let outDir = "";
  let responses: HarnessResponse[] = [];

  before(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), "functions-e2e-"));
    await run(process.execPath, [path.join(root, "scripts/build.ts"), "--outdir", outDir], { cwd: root });
    emu = await start({ port: 0 });
    const token = await emu.mintAccessToken();
    const auth = { authorization: `Bearer ${token}` };
    const initialize = {
      method: "POST",
      path: "/api/mcp",
      headers: {
        ...auth,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "functions-e2e", version: "1.0.0" },
        },
      }),
    };
    const whoami = toolCall("whoami", {}, 2);
    const graph = toolCall("get_graph_user_details", {}, 3);
    const requests = [
      initialize,
      { method: "POST", path: "/api/mcp", headers: { ...whoami.headers, ...auth }, body: whoami.body },
      { method: "POST", path: "/api/mcp", headers: { ...graph.headers, ...auth }, body: graph.body },
      { method: "POST", path: "/api/mcp", headers: whoami.headers, body: whoami.body },
    ];
    const { stdout } = await run(
      process.execPath,
      [path.join(root, "testing/bundle-harness.ts"), path.join(outDir, "main.js"), JSON.stringify(requests)],
      {
        cwd: root,
        env: { ...process.env, ...emu.serverEnv(), AUTH_MODE: "entra", PUBLIC_URL },
        timeout: 60_000,
      },
    );
    responses = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}").responses;
  });

  after(async () => {
    await emu?.stop();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  test("initialize succeeds with the minted bearer token", () => {
    const [res] = responses;
    assert.equal(res?.status, 200, res?.body);
    const result = rpc(res!).result as { protocolVersion: string; serverInfo: { name: string } };
    assert.equal(result.protocolVersion, "2025-06-18");
    assert.ok(result.serverInfo.name);
  });

  test("tools/call whoami returns the token's principal", () => {
    const res = responses[1]!;
    assert.equal(res.status, 200, res.body);
    const me = toolJson(res);
    assert.equal(me.tenantId, emu.tenantId);
    assert.equal(me.authMode, "entra");
    assert.equal(me.username, "AdeleV@contoso.onmicrosoft.com");
    const scopes = me.scopes as string[];
    assert.ok(
      scopes.some((s) => s.endsWith(`/${emu.apiApp.scope}`)),
      JSON.stringify(me),
    );
  });

  test("tools/call get_graph_user_details goes On-Behalf-Of to the Graph emulator", () => {
    const res = responses[2]!;
    assert.equal(res.status, 200, res.body);
    const user = toolJson(res);
    assert.equal(user.userPrincipalName, "AdeleV@contoso.onmicrosoft.com", JSON.stringify(user));
  });

  test("without a token the MCP endpoint challenges with Protected Resource Metadata", () => {
    const res = responses[3]!;
    assert.equal(res.status, 401);
    assert.match(res.headers["www-authenticate"] ?? "", new RegExp(`resource_metadata="${PUBLIC_URL}/`));
  });
});
