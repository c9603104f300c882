/**
 * Real MCP clients on the legacy HTTP+SSE transport against the real stack in proxy mode (emulator,
 * Azurite, server process): the v2 and the v1 SDK's `SSEClientTransport` run the whole OAuth flow from
 * the SSE URL and call `get_graph_user_details`; the MCP Inspector CLI does the same with
 * `--transport sse` and a bearer token obtained through that flow.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { walkAuthorization } from "@entra-mcp/testing/browser-walk";
import { CookieJar } from "@entra-mcp/testing/cookie-jar";
import { INSPECTOR, inspectorEnv } from "@entra-mcp/testing/inspector";
import { proxyToken } from "@entra-mcp/testing/mcp-clients";
import { StatefulOAuthProvider } from "@entra-mcp/testing/oauth-provider";
import { type Stack, startStack } from "@entra-mcp/testing/stack";
import { Client, SSEClientTransport } from "@modelcontextprotocol/client";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport as V1SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

let stack: Stack;
const dirs: string[] = [];

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const adele = () => stack.emulator.users[0];
const sseUrl = () => new URL(`${stack.server.url}/api/sse`);

/** The tool result is Adele's Graph profile, as the emulator's `/me` returns it. */
function assertAdele(result: unknown) {
  const r = result as { isError?: boolean; content?: Array<{ type: string; text?: string }> };
  assert.notEqual(r.isError, true, `the tool failed: ${JSON.stringify(r).slice(0, 500)}`);
  const me = JSON.parse(r.content?.find((c) => c.type === "text")?.text ?? "{}") as Record<string, unknown>;
  assert.equal(me.userPrincipalName, adele().upn);
  assert.equal(me.id, adele().oid);
  assert.equal(me.displayName, adele().displayName);
}

/** Connects once (401 → the provider records the authorization URL), walks it, and finishes auth. */
async function authorize(
  provider: StatefulOAuthProvider,
  connect: () => Promise<unknown>,
  finish: (params: URLSearchParams) => Promise<void>,
) {
  await assert.rejects(connect(), /Unauthorized/);
  assert.ok(provider.authorizationUrl, "the client was sent to /authorize");
  // The client discovered the SSE endpoint's own metadata and asks for that resource.
  assert.equal(provider.authorizationUrl.searchParams.get("resource"), sseUrl().href);
  const back = await walkAuthorization(provider.authorizationUrl.toString(), {
    user: adele().upn,
    jar: new CookieJar(),
  });
  await finish(back.url.searchParams);
}

describe("SDK clients over SSE with OAuth (proxy mode)", () => {
  test("v2 @modelcontextprotocol/client SSEClientTransport: signs in and calls get_graph_user_details", async () => {
    const provider = new StatefulOAuthProvider({ clientName: "v2 SSE client" });
    const transport = () => new SSEClientTransport(sseUrl(), { authProvider: provider as never });
    const first = transport();
    await authorize(
      provider,
      () => new Client({ name: "v2-sse", version: "1.0.0" }).connect(first),
      (params) => first.finishAuth(params),
    );
    const client = new Client({ name: "v2-sse", version: "1.0.0" });
    await client.connect(transport());
    try {
      assertAdele(await client.callTool({ name: "get_graph_user_details", arguments: {} }));
    } finally {
      await client.close();
    }
  });

  test("v1 @modelcontextprotocol/sdk SSEClientTransport: signs in and calls get_graph_user_details", async () => {
    const provider = new StatefulOAuthProvider({ clientName: "v1 SSE client" });
    const transport = () => new V1SSEClientTransport(sseUrl(), { authProvider: provider as never });
    const first = transport();
    await authorize(
      provider,
      () => new V1Client({ name: "v1-sse", version: "1.0.0" }).connect(first),
      async (params) => first.finishAuth(params.get("code") ?? ""),
    );
    const client = new V1Client({ name: "v1-sse", version: "1.0.0" });
    await client.connect(transport());
    try {
      assertAdele(await client.callTool({ name: "get_graph_user_details", arguments: {} }));
    } finally {
      await client.close();
    }
  });
});

describe("MCP Inspector CLI", () => {
  test("--transport sse with an Authorization header calls get_graph_user_details", async () => {
    const token = await proxyToken(stack.server.url, adele().upn, "Inspector CLI token");
    const opened = () => (stack.server.output().match(/"msg":"sse session opened"/g) ?? []).length;
    const openedBefore = opened();
    const dir = mkdtempSync(join(tmpdir(), "sse-inspector-"));
    dirs.push(dir);
    const run = promisify(execFile);
    const { stdout, stderr } = await run(
      process.execPath,
      [
        INSPECTOR,
        "--cli",
        sseUrl().href,
        "--transport",
        "sse",
        "--header",
        `Authorization: Bearer ${token}`,
        "--method",
        "tools/call",
        "--tool-name",
        "get_graph_user_details",
      ],
      {
        cwd: dir,
        encoding: "utf8",
        timeout: 90_000,
        env: { ...process.env, ...inspectorEnv(dir) },
      },
    ).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `the Inspector failed: ${err.message}\n--- stdout ---\n${err.stdout}\n--- stderr ---\n${err.stderr}`,
      );
    });
    assertAdele(JSON.parse(stdout));
    assert.doesNotMatch(stderr, /error/i);
    // It really went over SSE: the server opened a session for it.
    assert.equal(opened(), openedBefore + 1);
  });
});
