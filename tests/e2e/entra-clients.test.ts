// Entra-direct mode (AUTH_MODE=entra) with real MCP clients: each signs a user in to the local Entra
// emulator as the pre-authorized public client (authorization code + PKCE, headless), sends the Entra
// token to the server, and gets the user's Microsoft Graph profile back through OBO. Also the discovery
// chain a client without a token follows: 401 → Protected Resource Metadata → the emulator's issuer →
// its OpenID configuration.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { EmulatorUser } from "@entra-mcp/emulator";
import { INSPECTOR, inspectorEnv } from "@entra-mcp/testing/inspector";
import { parseChallenge } from "@entra-mcp/testing/mcp-request";
import { ROOT, type Stack, startStack } from "@entra-mcp/testing/stack";
import { TokenLedger } from "@entra-mcp/testing/token-ledger";
import { assertIsUser, type ToolResultLike, toolJson } from "@entra-mcp/testing/tool-results";
import {
  Client,
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as V1Transport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const run = promisify(execFile);

describe("Entra-direct mode with real MCP clients", () => {
  let stack: Stack;
  let adele: EmulatorUser;
  let inspectorHome = "";
  const ledger = new TokenLedger();

  before(async () => {
    stack = await startStack({ authMode: "entra" });
    adele = stack.emulator.users.find((u) => u.consented && u.hasPhoto) as EmulatorUser;
    inspectorHome = await mkdtemp(path.join(tmpdir(), "inspector-home-"));
  });

  after(async () => {
    await stack?.stop();
    if (inspectorHome) await rm(inspectorHome, { recursive: true, force: true });
  });

  /** Runs the Inspector CLI on this Node (it needs Node ≥ 22.19), with its state in a throwaway HOME. */
  async function inspector(token: string, args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await run(
      process.execPath,
      [
        INSPECTOR,
        "--cli",
        stack.server.mcpUrl,
        "--transport",
        "http",
        "--header",
        `Authorization: Bearer ${token}`,
        "--format",
        "json",
        ...args,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, ...inspectorEnv(inspectorHome) },
        timeout: 90_000,
        maxBuffer: 10 * 1024 * 1024,
      },
    );
    const out = JSON.parse(stdout) as { result?: Record<string, unknown> };
    assert.ok(out.result, `the Inspector printed no result: ${stdout}`);
    return out.result;
  }

  test("the v2 client (@modelcontextprotocol/client, 2026-07-28 stateless) gets the user's Graph profile", async () => {
    const token = await ledger.signIn(stack.emulator, adele);
    const transport = new StreamableHTTPClientTransport(new URL(stack.server.mcpUrl), {
      authProvider: { token: async () => token },
    });
    const client = new Client({ name: "e2e-v2", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
    await client.connect(transport);
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
      const result = (await client.callTool({
        name: "get_graph_user_details",
        arguments: {},
      })) as ToolResultLike;
      assertIsUser(toolJson(result), adele);
      assert.equal(result.structuredContent?.id, adele.oid);
    } finally {
      await client.close();
    }
  });

  test("the v1 client (@modelcontextprotocol/sdk, initialize handshake) gets the user's Graph profile", async () => {
    const token = await ledger.signIn(stack.emulator, adele);
    const transport = new V1Transport(new URL(stack.server.mcpUrl), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    const client = new V1Client({ name: "e2e-v1", version: "1.0.0" });
    await client.connect(transport);
    try {
      // A 2025-era version came out of `initialize`.
      assert.match(transport.protocolVersion ?? "", /^2025-/);
      assert.equal(client.getServerVersion()?.name, "entra-graph-mcp");
      const result = (await client.callTool({
        name: "get_graph_user_details",
        arguments: {},
      })) as ToolResultLike;
      assertIsUser(toolJson(result), adele);
    } finally {
      await client.close();
    }
  });

  test("the MCP Inspector CLI calls get_graph_user_details and lists every tool", async () => {
    const token = await ledger.signIn(stack.emulator, adele);
    const called = (await inspector(token, [
      "--method",
      "tools/call",
      "--tool-name",
      "get_graph_user_details",
    ])) as ToolResultLike;
    assertIsUser(toolJson(called), adele);

    const listed = (await inspector(token, ["--method", "tools/list"])) as {
      tools?: Array<{ name: string }>;
    };
    assert.deepEqual((listed.tools ?? []).map((t) => t.name).sort(), [
      "get_graph_user_details",
      "get_my_calendar",
      "get_my_photo",
      "list_recent_mail",
      "search_people",
      "whoami",
    ]);
  });

  test("without a token: 401 → Protected Resource Metadata → the emulator's issuer → its OpenID configuration", async () => {
    const { emulator, server } = stack;

    // The v2 client with no credentials cannot connect.
    const client = new Client({ name: "e2e-anonymous", version: "1.0.0" });
    await assert.rejects(
      client.connect(new StreamableHTTPClientTransport(new URL(server.mcpUrl))),
      /401|nauthorized/,
    );
    await client.close().catch(() => {});

    // The challenge it got, over plain fetch.
    const res = await fetch(server.mcpUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    assert.equal(res.status, 401);
    const challenge = parseChallenge(res.headers.get("www-authenticate"));
    const scope = `${emulator.apiApp.appIdUri}/${emulator.apiApp.scope}`;
    assert.equal(challenge.scope, scope);
    assert.equal(challenge.error, undefined, "no error code when no credentials were sent (RFC 6750 §3.1)");
    assert.equal(extractWWWAuthenticateParams(res).resourceMetadataUrl?.href, challenge.resource_metadata);
    await res.body?.cancel();

    const prmRes = await fetch(challenge.resource_metadata);
    assert.equal(prmRes.status, 200);
    const prm = (await prmRes.json()) as Record<string, unknown>;
    assert.equal(prm.resource, server.mcpUrl);
    assert.deepEqual(prm.authorization_servers, [emulator.issuer]);
    assert.deepEqual(prm.scopes_supported, [scope]);

    const issuer = (prm.authorization_servers as string[])[0];
    const oidcRes = await fetch(`${issuer}/.well-known/openid-configuration`);
    assert.equal(oidcRes.status, 200);
    const oidc = (await oidcRes.json()) as Record<string, string>;
    assert.equal(oidc.issuer, issuer);
    // The page a browser opens is on the emulator's plain-HTTP loopback origin (no certificate warning).
    assert.equal(
      oidc.authorization_endpoint,
      `${emulator.browserAuthorityHost}/${emulator.tenantId}/oauth2/v2.0/authorize`,
    );
    assert.equal(oidc.token_endpoint, `${emulator.authorityHost}/${emulator.tenantId}/oauth2/v2.0/token`);

    // The v2 client's own discovery reaches the same authorization server metadata.
    const info = await discoverOAuthServerInfo(server.mcpUrl, {
      resourceMetadataUrl: new URL(challenge.resource_metadata),
    });
    assert.equal(info.authorizationServerUrl, issuer);
    assert.equal(info.resourceMetadata?.resource, server.mcpUrl);
    assert.equal(info.authorizationServerMetadata?.authorization_endpoint, oidc.authorization_endpoint);
    assert.equal(info.authorizationServerMetadata?.token_endpoint, oidc.token_endpoint);
  });

  test("the server never printed a token it was sent", () => {
    ledger.assertNotIn(stack.server.output());
  });
});
