/**
 * Proxy mode (the server is its own OAuth authorization server in front of Entra) with the real MCP
 * client libraries: each one discovers the server, registers (Client ID Metadata Document or DCR),
 * goes through the consent page and the emulator's Entra sign-in, redeems the code, and calls
 * `get_graph_user_details`, which reaches the emulator's Graph On-Behalf-Of the signed-in user.
 *
 * One stack (emulator + Azurite + server) for the file.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { ensureCa } from "@entra-mcp/emulator";
import { walkAuthorization } from "@entra-mcp/testing/browser-walk";
import { signInV2 } from "@entra-mcp/testing/mcp-clients";
import { StatefulOAuthProvider } from "@entra-mcp/testing/oauth-provider";
import { type Stack, startStack } from "@entra-mcp/testing/stack";
import { assertGraphUser } from "@entra-mcp/testing/tool-results";
import { validateClientMetadataUrl } from "@modelcontextprotocol/client";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as StreamableHTTPClientTransportV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

let stack: Stack;

before(async () => {
  // The client ID metadata document is served from 127.0.0.1 below: allow loopback documents (local only).
  stack = await startStack({ env: { CIMD_ALLOW_LOOPBACK_HTTP: "true" } });
});

after(async () => {
  await stack?.stop();
});

const adele = () => stack.emulator.users[0];

const signIn = (provider: StatefulOAuthProvider, onConsentPage?: (html: string) => void) =>
  signInV2(stack.server.mcpUrl, provider, adele(), onConsentPage);

describe("v2 @modelcontextprotocol/client with a Client ID Metadata Document", () => {
  let docServer: Server;
  let clientId: string;
  let hits = 0;
  const clientName = "CIMD e2e client";
  const redirectUrl = "http://127.0.0.1:53682/callback";

  before(async () => {
    const { cert, key } = await (await ensureCa()).issueServerCert();
    docServer = createServer({ cert, key }, (req, res) => {
      if (req.url !== "/clients/e2e.json") {
        res.writeHead(404).end();
        return;
      }
      hits++;
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=300" });
      res.end(
        JSON.stringify({
          client_id: clientId,
          client_name: clientName,
          redirect_uris: [redirectUrl],
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          token_endpoint_auth_method: "none",
          application_type: "native",
        }),
      );
    });
    await new Promise<void>((resolve) => docServer.listen(0, "127.0.0.1", resolve));
    clientId = `https://127.0.0.1:${(docServer.address() as AddressInfo).port}/clients/e2e.json`;
  });

  after(async () => {
    docServer.closeAllConnections();
    await new Promise((resolve) => docServer.close(resolve));
  });

  test("signs in with its document URL as client_id, sees its name and host on the consent page, calls Graph", async () => {
    // The v2 client refuses an http: metadata URL, hence the document is served over TLS on loopback.
    assert.throws(() => validateClientMetadataUrl(clientId.replace("https:", "http:")));
    assert.doesNotThrow(() => validateClientMetadataUrl(clientId));
    const provider = new StatefulOAuthProvider({ clientMetadataUrl: clientId, clientName, redirectUrl });
    let consentHtml = "";
    const { client, authorizeUrl } = await signIn(provider, (html) => {
      consentHtml = html;
    });
    try {
      assert.equal(authorizeUrl.searchParams.get("client_id"), clientId, "no DCR: the URL is the client_id");
      assert.equal(authorizeUrl.searchParams.get("code_challenge_method"), "S256");
      assert.equal(authorizeUrl.searchParams.get("resource"), stack.server.mcpUrl);
      assert.ok(hits >= 1, "the server fetched the client metadata document");
      assert.match(consentHtml, new RegExp(`class="client-name">${clientName}<`));
      assert.match(
        consentHtml,
        new RegExp(`published its identity at <strong>${new URL(clientId).host}</strong>`),
      );
      assert.match(consentHtml, /127\.0\.0\.1:53682/, "the consent page names where the code goes");
      assert.ok(provider.currentTokens?.access_token, "the client holds an access token");
      assert.ok(provider.currentTokens?.refresh_token, "and a refresh token");

      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === "get_graph_user_details"));
      assertGraphUser(await client.callTool({ name: "get_graph_user_details", arguments: {} }), adele());
    } finally {
      await client.close();
    }
  });
});

describe("v2 @modelcontextprotocol/client with Dynamic Client Registration", () => {
  test("registers, consents, signs in and calls get_graph_user_details", async () => {
    const provider = new StatefulOAuthProvider({ clientName: "DCR e2e client v2" });
    let consentHtml = "";
    const { client, authorizeUrl } = await signIn(provider, (html) => {
      consentHtml = html;
    });
    try {
      const clientId = authorizeUrl.searchParams.get("client_id") ?? "";
      assert.equal(
        (provider.clientInformation() as { client_id?: string } | undefined)?.client_id,
        clientId,
        "the client used the client_id the server registered for it",
      );
      assert.doesNotMatch(clientId, /^https?:/, "a registered id, not a metadata URL");
      assert.match(consentHtml, /class="client-name">DCR e2e client v2</);
      assert.match(consentHtml, /registered itself with this server; its name is not verified/);
      assertGraphUser(await client.callTool({ name: "get_graph_user_details", arguments: {} }), adele());
    } finally {
      await client.close();
    }
  });
});

describe("v1 @modelcontextprotocol/sdk client with Dynamic Client Registration", () => {
  test("registers, consents, signs in and calls get_graph_user_details", async () => {
    const provider = new StatefulOAuthProvider({ clientName: "DCR e2e client v1" });
    const transport = () =>
      new StreamableHTTPClientTransportV1(new URL(stack.server.mcpUrl), { authProvider: provider as never });
    const first = transport();
    await assert.rejects(new ClientV1({ name: "e2e-v1", version: "1.0.0" }).connect(first), (err: Error) =>
      /unauthorized/i.test(`${err.name} ${err.message}`),
    );
    assert.ok(provider.authorizationUrl, "the v1 client asked to open an authorization URL");
    assert.equal(provider.authorizationUrl.searchParams.get("resource"), stack.server.mcpUrl);
    let consentName = "";
    const back = await walkAuthorization(provider.authorizationUrl.toString(), {
      user: adele().upn,
      onConsentPage: (html) => {
        consentName = /class="client-name">([^<]*)</.exec(html)?.[1] ?? "";
      },
    });
    assert.equal(consentName, "DCR e2e client v1");
    const code = back.url.searchParams.get("code");
    assert.ok(code, `no code in ${back.url}`);
    await first.finishAuth(code);
    await first.close();

    const client = new ClientV1({ name: "e2e-v1", version: "1.0.0" });
    await client.connect(transport());
    try {
      assertGraphUser(await client.callTool({ name: "get_graph_user_details", arguments: {} }), adele());
    } finally {
      await client.close();
    }
  });
});
