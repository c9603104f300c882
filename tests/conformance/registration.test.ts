/**
 * Conformance of client registration, black box over HTTP: Client ID Metadata Documents (SSRF guard,
 * size and time caps; draft-ietf-oauth-client-id-metadata-document, MCP security best practices "SSRF")
 * and Dynamic Client Registration (RFC 7591 §2, §3.2.2; abuse: rate limit).
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  assertServing,
  authorizeUrl,
  type Client,
  CookieJar,
  expectErrorPage,
  expectOAuthError,
  fetchFrom,
  openConsent,
  REDIRECT,
  registerClient,
  registerRaw,
} from "@entra-mcp/testing/authorization-server";
import { type ServerProcess, type Stack, startServer, startStack } from "@entra-mcp/testing/stack";

let stack: Stack;
/** A second server on the same state, started with CIMD_ALLOW_LOOPBACK_HTTP=true. */
let loopbackServer: ServerProcess;
let loopbackStack: Stack;

/** Counts every TCP connection: the guarded server must never open one. */
let tcp: Server;
let tcpPort: number;
let tcpConnections = 0;

/** Serves metadata documents for the loopback-enabled server. */
const docs = createHttpServer((req, res) => serveDoc(req, res));
let docsBase: string;
const docHits: Record<string, number> = {};
const held = new Set<ServerResponse>();

function serveDoc(req: IncomingMessage, res: ServerResponse) {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  docHits[path] = (docHits[path] ?? 0) + 1;
  const clientId = `${docsBase}${path}`;
  const doc = { client_id: clientId, client_name: "Loopback CIMD client", redirect_uris: [REDIRECT] };
  if (path === "/good.json") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(doc));
  } else if (path === "/big.json") {
    // > 5 KiB, streamed in chunks without a Content-Length: the cap must count while reading.
    res.writeHead(200, { "content-type": "application/json" });
    res.write(
      `{"client_id":${JSON.stringify(clientId)},"redirect_uris":${JSON.stringify([REDIRECT])},"pad":"`,
    );
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || sent >= 64) {
        clearInterval(timer);
        if (!res.destroyed) res.end('"}');
        return;
      }
      sent++;
      res.write("x".repeat(1024));
    }, 5);
  } else if (path === "/slow.json") {
    // Headers never come within the server's 5 s deadline; released at teardown.
    held.add(res);
  } else {
    res.writeHead(404).end();
  }
}

before(async () => {
  stack = await startStack({ authMode: "proxy" });
  tcp = createTcpServer((socket) => {
    tcpConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  tcpPort = (tcp.address() as AddressInfo).port;
  await new Promise<void>((resolve) => docs.listen(0, "127.0.0.1", resolve));
  docsBase = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
  const { freePort } = await import("@entra-mcp/testing/stack");
  const port = await freePort();
  loopbackServer = await startServer(
    { ...stack.env, PUBLIC_URL: `http://127.0.0.1:${port}`, CIMD_ALLOW_LOOPBACK_HTTP: "true" },
    { port, quiet: true },
  );
  loopbackStack = { ...stack, server: loopbackServer };
});
after(async () => {
  for (const res of held) res.destroy();
  docs.closeAllConnections();
  await new Promise((resolve) => docs.close(resolve));
  await new Promise((resolve) => tcp.close(resolve));
  await loopbackServer?.stop();
  await stack?.stop();
});

function cimdClient(clientId: string): Client {
  return { client_id: clientId, redirect_uris: [REDIRECT] };
}

describe("CIMD: SSRF guard refuses non-public addresses (CIMD draft, Security Considerations; MCP 2025-11-25 client registration: SHOULD mitigate SSRF)", () => {
  it("a client_id on 127.0.0.1 or a name resolving to loopback → error page, zero requests sent", async () => {
    for (const host of [`127.0.0.1:${tcpPort}`, `localhost:${tcpPort}`, `[::1]:${tcpPort}`]) {
      const url = authorizeUrl(stack, { client: cimdClient(`https://${host}/client.json`) });
      const html = await expectErrorPage(await fetch(url, { redirect: "manual" }));
      assert.match(html, /not a public Internet address/);
      assert.doesNotMatch(html, /127\.0\.0\.1|::1/, "the page names the internal address");
    }
    assert.equal(tcpConnections, 0);
    await assertServing(stack);
  });

  it("other non-public hosts (link-local metadata, RFC 1918, IPv4-mapped and numeric loopback) → error page", async () => {
    for (const host of [
      "169.254.169.254",
      "10.0.0.1",
      "192.168.1.1",
      `[::ffff:127.0.0.1]:${tcpPort}`,
      `2130706433:${tcpPort}`,
      `127.1:${tcpPort}`,
    ]) {
      const url = authorizeUrl(stack, { client: cimdClient(`https://${host}/client.json`) });
      const html = await expectErrorPage(await fetch(url, { redirect: "manual" }));
      assert.match(html, /not a public Internet address/, host);
    }
    assert.equal(tcpConnections, 0);
    await assertServing(stack);
  });
});

describe("CIMD fetch caps: 5 KiB and 5 s (CIMD draft, Security Considerations; MCP best practices SSRF), with CIMD_ALLOW_LOOPBACK_HTTP=true", () => {
  it("control: a well-formed loopback document gives the consent page", async () => {
    const page = await openConsent(
      new CookieJar(),
      authorizeUrl(loopbackStack, { client: cimdClient(`${docsBase}/good.json`) }),
    );
    assert.match(page.html, /Loopback CIMD client/);
  });

  it("an oversized document (> 5 KiB, streamed) → error page, the server keeps serving", async () => {
    const url = authorizeUrl(loopbackStack, { client: cimdClient(`${docsBase}/big.json`) });
    const html = await expectErrorPage(await fetch(url, { redirect: "manual" }));
    assert.match(html, /larger than 5120 bytes/);
    assert.equal(docHits["/big.json"], 1);
    await assertServing(loopbackStack);
  });

  it("a document whose headers come after the 5 s deadline → error page; other requests are served meanwhile", async () => {
    const url = authorizeUrl(loopbackStack, { client: cimdClient(`${docsBase}/slow.json`) });
    const pending = fetch(url, { redirect: "manual", signal: AbortSignal.timeout(30_000) });
    // While the fetch hangs, the server answers everything else.
    await assertServing(loopbackStack);
    const control = await openConsent(
      new CookieJar(),
      authorizeUrl(loopbackStack, { client: cimdClient(`${docsBase}/good.json`) }),
    );
    assert.match(control.html, /Loopback CIMD client/);
    assert.match(await expectErrorPage(await pending), /timed out/);
    assert.equal(docHits["/slow.json"], 1);
    await assertServing(loopbackStack);
  });
});

describe("DCR: invalid metadata is refused (RFC 7591 §2, §3.2.2; RFC 6749 §3.1.2.1; RFC 8252 §7.3)", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      "http redirect URI on a non-loopback host",
      { redirect_uris: ["http://client.example.com/cb"] },
      "invalid_redirect_uri",
    ],
    ["javascript: redirect URI", { redirect_uris: ["javascript:alert(1)"] }, "invalid_redirect_uri"],
    [
      "token_endpoint_auth_method private_key_jwt",
      { token_endpoint_auth_method: "private_key_jwt" },
      "invalid_client_metadata",
    ],
  ];
  for (const [name, metadata, error] of cases) {
    it(`${name} → 400 ${error}`, async () => {
      const res = await registerRaw(
        stack,
        { client_name: "Bad client", redirect_uris: [REDIRECT], ...metadata },
        "127.0.0.20",
      );
      await expectOAuthError(res, 400, error);
      await assertServing(stack);
    });
  }
});

describe("DCR: registration flood is rate-limited per caller address (RFC 7591 §3, RFC 6585 §4; MCP best practices DCR abuse)", () => {
  it("a deployment (public URL not on loopback): more than 10 registrations a minute from one address → 429 with Retry-After; everything else still served", async () => {
    // The same code and state, with a deployment's public URL: production limits apply.
    const { freePort } = await import("@entra-mcp/testing/stack");
    const port = await freePort();
    const deployed = await startServer(
      { ...stack.env, PUBLIC_URL: "https://mcp.contoso.example" },
      { port, quiet: true },
    );
    const body = { client_name: "Flood", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" };
    let accepted = 0;
    let refused: Response | undefined;
    const register = (from: string, name = "Flood") =>
      fetchFrom(from, `http://127.0.0.1:${port}/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...body, client_name: name }),
      });
    try {
      // A fixed one-minute window: at most 10 in the first window, 10 more if the flood straddles a boundary.
      for (let i = 0; i < 21 && !refused; i++) {
        const res = await register("127.0.0.66");
        if (res.status === 201) {
          accepted++;
          await res.body?.cancel();
        } else refused = res;
      }
      assert.ok(refused, `${accepted} registrations were all accepted`);
      assert.ok(accepted >= 10 && accepted <= 20, `refused after ${accepted}`);
      assert.equal(refused.status, 429);
      const retryAfter = Number(refused.headers.get("retry-after"));
      assert.ok(
        Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
        `Retry-After ${retryAfter}`,
      );
      await refused.body?.cancel();
      // The flood is contained: other callers still register.
      const bystander = await register("127.0.0.99", "Bystander");
      assert.equal(bystander.status, 201);
      await bystander.body?.cancel();
    } finally {
      await deployed.stop();
    }
    await assertServing(stack);
  });

  it("on a developer's machine (public URL on loopback): a few dozen clients connecting in a minute from one address are all registered", async () => {
    const body = {
      client_name: "Local client",
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: "none",
    };
    for (let i = 0; i < 40; i++) {
      const res = await registerRaw(stack, body, "127.0.0.67");
      assert.equal(res.status, 201, `registration ${i + 1}: ${await res.clone().text()}`);
      await res.body?.cancel();
    }
    const other = await registerClient(stack, { client_name: "Bystander" }, "127.0.0.99");
    await openConsent(new CookieJar(), authorizeUrl(stack, { client: other }));
  });
});
