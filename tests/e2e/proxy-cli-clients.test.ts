/**
 * Proxy mode with the command-line MCP clients people actually run, each as a child process that
 * opens "the browser" itself: `mcp-remote` (the stdio bridge Claude Desktop and others use) and the
 * MCP Inspector CLI. Their browser opener (the `open` package → xdg-open → `$BROWSER`) runs
 * `testing/browser-opener.ts`, which walks the consent page and the emulator's sign-in and then delivers
 * the code to the client's own loopback callback server, as a browser would.
 *
 * Every client gets a private config/storage folder, a free callback port, and the stack's CA.
 * One stack (emulator + Azurite + server) for the file.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ensureCa } from "@entra-mcp/emulator";
import { browserEnv, browserWalks } from "@entra-mcp/testing/browser-opener";
import { INSPECTOR, inspectorEnv } from "@entra-mcp/testing/inspector";
import { freePort, inheritedEnv, ROOT, type Stack, startStack } from "@entra-mcp/testing/stack";
import { assertGraphUser } from "@entra-mcp/testing/tool-results";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

let stack: Stack;
const dirs: string[] = [];

before(async () => {
  // The Inspector's client ID metadata document is served from 127.0.0.1 (local testing switch).
  stack = await startStack({ env: { CIMD_ALLOW_LOOPBACK_HTTP: "true" } });
});

after(async () => {
  await stack?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const adele = () => stack.emulator.users[0];

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `e2e-${prefix}-`));
  dirs.push(d);
  return d;
}

describe("mcp-remote (stdio bridge)", () => {
  const MCP_REMOTE = join(ROOT, "node_modules", "mcp-remote", "dist", "proxy.js");

  async function connect(dir: string, callbackPort: number) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MCP_REMOTE, stack.server.mcpUrl, String(callbackPort), "--host", "127.0.0.1"],
      env: {
        ...inheritedEnv(),
        ...browserEnv(dir, adele()),
        MCP_REMOTE_CONFIG_DIR: join(dir, "mcp-auth"),
        HOME: dir,
      },
      stderr: "pipe",
    });
    let stderr = "";
    transport.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const client = new Client({ name: "e2e-mcp-remote", version: "1.0.0" });
    try {
      await client.connect(transport);
    } catch (err) {
      throw new Error(
        `mcp-remote did not connect: ${(err as Error).message}\n--- mcp-remote ---\n${stderr}\n--- walks ---\n${JSON.stringify(browserWalks(dir))}`,
      );
    }
    return { client, stderr: () => stderr };
  }

  test("signs in through the browser, calls get_graph_user_details, and reuses its stored tokens next time", async () => {
    const dir = tempDir("mcp-remote");
    const callbackPort = await freePort();

    const first = await connect(dir, callbackPort);
    try {
      assertGraphUser(
        await first.client.callTool({ name: "get_graph_user_details", arguments: {} }),
        adele(),
      );
    } finally {
      await first.client.close();
    }
    const walks = browserWalks(dir);
    assert.equal(walks.length, 1, `one browser sign-in: ${JSON.stringify(walks)}`);
    const [walk] = walks;
    assert.equal(walk.error, undefined);
    assert.ok(walk.consentShown, "the proxy showed its consent page");
    assert.equal(walk.clientName, "MCP CLI Proxy", "mcp-remote registered itself (DCR) under its own name");
    const authorize = new URL(walk.authorizeUrl);
    assert.equal(authorize.origin, new URL(stack.server.url).origin);
    assert.equal(
      authorize.searchParams.get("redirect_uri"),
      `http://127.0.0.1:${callbackPort}/oauth/callback`,
    );
    assert.equal(authorize.searchParams.get("resource"), stack.server.mcpUrl);
    assert.ok(new URL(walk.redirect ?? "").searchParams.get("code"), "the browser carried a code back");
    assert.equal(walk.callbackStatus, 200, "mcp-remote's callback server took the code");

    // A second session (the desktop app restarted): tokens come from its config folder, no browser.
    const second = await connect(dir, callbackPort);
    try {
      assertGraphUser(
        await second.client.callTool({ name: "get_graph_user_details", arguments: {} }),
        adele(),
      );
    } finally {
      await second.client.close();
    }
    assert.equal(browserWalks(dir).length, 1, "no second sign-in");
  });
});

describe("MCP Inspector CLI", () => {
  async function runInspector(dir: string, args: string[]) {
    const child = spawn(
      process.execPath,
      [
        INSPECTOR,
        "--cli",
        stack.server.mcpUrl,
        "--transport",
        "http",
        "--method",
        "tools/call",
        "--tool-name",
        "get_graph_user_details",
        "--client-config",
        join(dir, "client.json"),
        ...args,
      ],
      {
        cwd: dir,
        env: {
          ...inheritedEnv(),
          ...browserEnv(dir, adele()),
          ...inspectorEnv(dir),
          // Not a TTY: ask the CLI to open the browser anyway (it prints the URL either way).
          MCP_AUTO_OPEN_ENABLED: "true",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    const [code] = (await once(child, "exit")) as [number | null];
    clearTimeout(timer);
    const report = `exit ${code}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}\n--- walks ---\n${JSON.stringify(browserWalks(dir))}`;
    assert.equal(code, 0, report);
    return { result: JSON.parse(stdout) as unknown, stderr, report };
  }

  test("with Dynamic Client Registration: opens the browser, signs in, calls the tool", async () => {
    const dir = tempDir("inspector-dcr");
    const callbackUrl = `http://127.0.0.1:${await freePort()}/oauth/callback`;
    const { result, stderr } = await runInspector(dir, ["--callback-url", callbackUrl]);
    assertGraphUser(result, adele());
    assert.match(stderr, /Please navigate to: http:\/\/127\.0\.0\.1:\d+\/authorize\?/);
    const walks = browserWalks(dir);
    assert.equal(walks.length, 1, JSON.stringify(walks));
    assert.equal(walks[0].clientName, "MCP Inspector");
    assert.equal(new URL(walks[0].authorizeUrl).searchParams.get("redirect_uri"), callbackUrl);
    assert.equal(walks[0].callbackStatus, 200, "the Inspector's callback listener took the code");

    // The token it stored works without another sign-in.
    const again = await runInspector(dir, ["--callback-url", callbackUrl, "--stored-auth-only"]);
    assertGraphUser(again.result, adele());
    assert.equal(browserWalks(dir).length, 1, "no second sign-in");
  });

  describe("with a Client ID Metadata Document", () => {
    let docServer: Server;
    let clientId = "";
    let hits = 0;
    let callbackUrl = "";

    before(async () => {
      callbackUrl = `http://127.0.0.1:${await freePort()}/oauth/callback`;
      const { cert, key } = await (await ensureCa()).issueServerCert();
      docServer = createServer({ cert, key }, (req, res) => {
        if (req.url !== "/inspector.json") {
          res.writeHead(404).end();
          return;
        }
        hits++;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            client_id: clientId,
            client_name: "Inspector via CIMD",
            redirect_uris: [callbackUrl],
            grant_types: ["authorization_code", "refresh_token"],
            response_types: ["code"],
            token_endpoint_auth_method: "none",
          }),
        );
      });
      await new Promise<void>((resolve) => docServer.listen(0, "127.0.0.1", resolve));
      clientId = `https://127.0.0.1:${(docServer.address() as AddressInfo).port}/inspector.json`;
    });

    after(async () => {
      docServer.closeAllConnections();
      await new Promise((resolve) => docServer.close(resolve));
    });

    test("--client-metadata-url: the server fetches the document and shows its name and host", async () => {
      const dir = tempDir("inspector-cimd");
      const { result } = await runInspector(dir, [
        "--callback-url",
        callbackUrl,
        "--client-metadata-url",
        clientId,
      ]);
      assertGraphUser(result, adele());
      assert.ok(hits >= 1, "the server fetched the Inspector's client metadata document");
      const walks = browserWalks(dir);
      assert.equal(walks.length, 1, JSON.stringify(walks));
      assert.equal(new URL(walks[0].authorizeUrl).searchParams.get("client_id"), clientId);
      assert.equal(walks[0].clientName, "Inspector via CIMD");
      assert.equal(walks[0].clientIdHost, new URL(clientId).host);
      assert.equal(walks[0].callbackStatus, 200);
    });
  });
});
