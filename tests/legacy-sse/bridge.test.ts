/**
 * The legacy HTTP+SSE transport in process: the real app (`createApp`) with the in-process backplane and a
 * token verifier that knows two users, driven through `app.fetch` with web `Request`s. Each case checks
 * what an SSE client sees: the stream's events and headers, the POST's status and error body.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { parseChallenge } from "@entra-mcp/testing/mcp-request";
import { EventReader, INITIALIZE, openStream, postMessage, request } from "@entra-mcp/testing/sse";
import { eventually } from "@entra-mcp/testing/wait";
import { Client, SSEClientTransport } from "@modelcontextprotocol/client";
import { createApp, type SseSettings } from "../../api/src/app.ts";
import { loadConfig } from "../../api/src/config/config.ts";
import { Failure } from "../../api/src/core/failure.ts";
import type { Logger } from "../../api/src/core/log.ts";
import type { Principal, TokenVerifier } from "../../api/src/core/principal.ts";
import { InProcessBackplane } from "../../api/src/legacy-sse/backplane.ts";

const TENANT = "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
const ORIGIN = "http://127.0.0.1:7071";
const config = loadConfig({
  AUTH_MODE: "entra",
  PUBLIC_URL: ORIGIN,
  ENTRA_TENANT_ID: TENANT,
  ENTRA_CLIENT_ID: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
});

const USERS: Record<string, Omit<Principal, "userAssertion" | "scopes">> = {
  adele: { tenantId: TENANT, objectId: "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f", name: "Adele Vance" },
  alex: { tenantId: TENANT, objectId: "6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a", name: "Alex Wilber" },
};

const verifier: TokenVerifier = {
  async verify(token) {
    const user = USERS[token];
    if (!user) throw new Failure("invalid_token", "unknown test token");
    return {
      principal: { ...user, scopes: ["user_impersonation"], userAssertion: async () => "unused" },
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    };
  },
};

interface LogLine {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

function makeApp(sse: SseSettings = {}) {
  const logs: LogLine[] = [];
  const logger: Logger = {
    info: (msg, fields) => logs.push({ level: "info", msg, fields }),
    warn: (msg, fields) => logs.push({ level: "warn", msg, fields }),
    error: (msg, fields) => logs.push({ level: "error", msg, fields }),
  };
  const backplane =
    sse.backplane ?? new InProcessBackplane({ maxSessionsPerOwner: sse.maxSessionsPerUser ?? 5 });
  const app = createApp(config, { verifier, logger, sse: { ...sse, backplane } });
  apps.push(app);
  // As an HTTP server would: the Host header from the URL (the DNS-rebinding guard requires one).
  const fetchApp = async (req: Request) => {
    const headers = new Headers(req.headers);
    headers.set("host", new URL(req.url).host);
    return app.fetch(new Request(req, { headers }));
  };
  return { app, fetchApp, logs, backplane };
}

const apps: ReturnType<typeof createApp>[] = [];
after(async () => {
  for (const app of apps) await app.close();
});

const shared = makeApp();
const { fetchApp } = shared;

describe("GET /api/sse", () => {
  test("without a token: 401 whose challenge leads to metadata naming /api/sse as the resource", async () => {
    const res = await fetchApp(new Request(`${ORIGIN}/api/sse`));
    assert.equal(res.status, 401);
    const challenge = parseChallenge(res.headers.get("www-authenticate"));
    assert.equal(challenge.resource_metadata, `${ORIGIN}/.well-known/oauth-protected-resource/api/sse`);
    const prm = (await (await fetchApp(new Request(challenge.resource_metadata))).json()) as Record<
      string,
      unknown
    >;
    // RFC 9728 §3.3: the metadata's resource is the URL the client connects to, so SDK clients accept it.
    assert.equal(prm.resource, `${ORIGIN}/api/sse`);
    assert.deepEqual(prm.authorization_servers, [config.entra.issuer]);
    // The Streamable HTTP endpoint keeps its own.
    const mcp = await fetchApp(new Request(`${ORIGIN}/api/mcp`, { method: "POST" }));
    assert.match(mcp.headers.get("www-authenticate") ?? "", /oauth-protected-resource\/api\/mcp"/);
  });

  test("opens an event stream whose first event names the message endpoint on the same origin", async () => {
    const s = await openStream(fetchApp, ORIGIN, "adele");
    try {
      assert.equal(s.response.headers.get("content-type"), "text/event-stream");
      assert.match(s.response.headers.get("cache-control") ?? "", /no-cache/);
      assert.equal(s.response.headers.get("x-accel-buffering"), "no");
      assert.equal(s.messageUrl.origin, ORIGIN);
      assert.equal(s.messageUrl.pathname, "/api/messages");
      assert.match(s.sessionId, /^[A-Za-z0-9_-]{32}$/);
    } finally {
      s.abort();
    }
  });

  test("sends a keep-alive comment while idle", async () => {
    const { fetchApp: f } = makeApp({ keepAliveMs: 50 });
    const controller = new AbortController();
    const res = await f(
      new Request(`${ORIGIN}/api/sse`, {
        headers: { authorization: "Bearer adele" },
        signal: controller.signal,
      }),
    );
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    try {
      while (!text.includes(": keepalive\n\n")) {
        const { done, value } = await reader.read();
        assert.equal(done, false, `the stream ended: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
      assert.match(text, /^event: endpoint\ndata: \/api\/messages\?sessionId=[A-Za-z0-9_-]{32}\n\n/);
    } finally {
      await reader.cancel();
    }
  });

  test("a foreign Origin is refused before the token gate (DNS rebinding)", async () => {
    const res = await fetchApp(
      new Request(`${ORIGIN}/api/sse`, {
        headers: { authorization: "Bearer adele", origin: "https://evil.example" },
      }),
    );
    assert.equal(res.status, 403);
  });

  test("POST /api/sse answers 405 (a client probing for Streamable HTTP falls back to GET)", async () => {
    const res = await fetchApp(
      new Request(`${ORIGIN}/api/sse`, {
        method: "POST",
        headers: { authorization: "Bearer adele", "content-type": "application/json" },
        body: "{}",
      }),
    );
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET");
  });
});

describe("POST /api/messages", () => {
  test("initialize, notifications/initialized and tools/call: 202 each, responses on the stream", async () => {
    const s = await openStream(fetchApp, ORIGIN, "adele");
    try {
      const init = request("initialize", INITIALIZE);
      const r1 = await postMessage(fetchApp, s.messageUrl, "adele", init);
      assert.equal(r1.status, 202);
      const initResult = await s.events.message();
      assert.equal(initResult.id, init.id);
      assert.equal((initResult.result as { protocolVersion: string }).protocolVersion, "2024-11-05");

      const r2 = await postMessage(fetchApp, s.messageUrl, "adele", { method: "notifications/initialized" });
      assert.equal(r2.status, 202);

      const call = request("tools/call", { name: "whoami", arguments: {} });
      const r3 = await postMessage(fetchApp, s.messageUrl, "adele", call, {
        "mcp-protocol-version": "2024-11-05",
      });
      assert.equal(r3.status, 202);
      // The notification produced nothing on the stream: the next message is the tool's result.
      const result = await s.events.message();
      assert.equal(result.id, call.id);
      const who = (result.result as { structuredContent: Record<string, unknown> }).structuredContent;
      assert.equal(who.objectId, USERS.adele.objectId);
    } finally {
      s.abort();
    }
  });

  test("a request the handler rejects comes back as a JSON-RPC error on the stream, by id", async () => {
    const s = await openStream(fetchApp, ORIGIN, "adele");
    try {
      const call = request("tools/call", { name: "no_such_tool", arguments: {} });
      assert.equal((await postMessage(fetchApp, s.messageUrl, "adele", call)).status, 202);
      const answer = await s.events.message();
      assert.equal(answer.id, call.id);
      assert.ok(answer.error || (answer.result as { isError?: boolean }).isError, JSON.stringify(answer));
    } finally {
      s.abort();
    }
  });

  test("another user's POST to the session gets the same 404 as an unknown session, and reaches nothing", async () => {
    const { fetchApp: f, logs } = makeApp();
    const s = await openStream(f, ORIGIN, "adele");
    try {
      const stranger = await postMessage(f, s.messageUrl, "alex", request("tools/call", { name: "whoami" }));
      assert.equal(stranger.status, 404);
      const strangerBody = await stranger.json();
      const unknown = await postMessage(
        f,
        `${ORIGIN}/api/messages?sessionId=${"A".repeat(32)}`,
        "alex",
        request("tools/call", { name: "whoami" }),
      );
      assert.equal(unknown.status, 404);
      // No oracle: a stranger cannot tell a live session id from a made-up one.
      assert.deepEqual(strangerBody, await unknown.json());
      assert.equal((strangerBody as { error: { code: number } }).error.code, -32001);
      assert.ok(logs.some((l) => l.level === "warn" && /another user/.test(l.msg)));

      // The owner's next request is answered, and it is the first thing on the stream.
      const ping = request("ping");
      assert.equal((await postMessage(f, s.messageUrl, "adele", ping)).status, 202);
      assert.equal((await s.events.message()).id, ping.id);
    } finally {
      s.abort();
    }
  });

  test("clear errors: no sessionId 400, bad JSON 400, wrong type 415, too large 413", async () => {
    const s = await openStream(fetchApp, ORIGIN, "adele");
    try {
      const noSession = await postMessage(fetchApp, `${ORIGIN}/api/messages`, "adele", request("ping"));
      assert.equal(noSession.status, 400);
      assert.match(
        ((await noSession.json()) as { error: { message: string } }).error.message,
        /GET \/api\/sse/,
      );

      const post = (body: string, type = "application/json") =>
        fetchApp(
          new Request(s.messageUrl, {
            method: "POST",
            headers: { authorization: "Bearer adele", "content-type": type },
            body,
          }),
        );
      const bad = await post("{not json");
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { code: number } }).error.code, -32700);
      assert.equal((await post("{}", "text/plain")).status, 415);
      const big = await post(
        JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "ping",
          params: { pad: "x".repeat(config.maxBodyBytes) },
        }),
      );
      assert.equal(big.status, 413);
    } finally {
      s.abort();
    }
  });
});

describe("session lifetime", () => {
  test("a user may hold a limited number of streams; closing one frees its session and its slot", async () => {
    const { fetchApp: f, backplane } = makeApp({ maxSessionsPerUser: 2 });
    const a = await openStream(f, ORIGIN, "adele");
    const b = await openStream(f, ORIGIN, "adele");
    const other = await openStream(f, ORIGIN, "alex");
    try {
      const third = await f(new Request(`${ORIGIN}/api/sse`, { headers: { authorization: "Bearer adele" } }));
      assert.equal(third.status, 429);
      assert.match(((await third.json()) as { error_description: string }).error_description, /At most 2/);

      // The client goes away (its reader is cancelled): the session is gone and the slot is free.
      await a.events.close();
      await eventually(
        async () => (await postMessage(f, a.messageUrl, "adele", request("ping"))).status === 404,
        "the closed session to be forgotten",
      );
      assert.equal((backplane as InProcessBackplane).size, 2);
      const again = await openStream(f, ORIGIN, "adele");
      again.abort();
    } finally {
      a.abort();
      b.abort();
      other.abort();
    }
  });

  test("aborting the GET request ends the session too", async () => {
    const { fetchApp: f, backplane } = makeApp();
    const s = await openStream(f, ORIGIN, "adele");
    s.abort();
    await eventually(() => (backplane as InProcessBackplane).size === 0, "the session to close");
    assert.equal((await postMessage(f, s.messageUrl, "adele", request("ping"))).status, 404);
  });

  test("an idle stream ends after the idle timeout; every stream ends at its maximum lifetime", async () => {
    const { fetchApp: f, logs } = makeApp({ idleTimeoutMs: 300, maxLifetimeMs: 60_000 });
    const idle = await openStream(f, ORIGIN, "adele");
    assert.equal(await idle.events.next(), undefined, "the idle stream ended");
    assert.ok(logs.some((l) => l.fields?.reason === "idle timeout"));

    const { fetchApp: g, logs: logs2 } = makeApp({ idleTimeoutMs: 60_000, maxLifetimeMs: 500 });
    const capped = await openStream(g, ORIGIN, "adele");
    assert.equal(await capped.events.next(), undefined, "the stream ended at its maximum lifetime");
    assert.ok(logs2.some((l) => l.fields?.reason === "maximum lifetime reached"));
    assert.equal((await postMessage(g, capped.messageUrl, "adele", request("ping"))).status, 404);
  });

  test("close() (server shutdown) ends every stream cleanly and refuses new ones", async () => {
    const { app, fetchApp: f } = makeApp();
    const s1 = await openStream(f, ORIGIN, "adele");
    const s2 = await openStream(f, ORIGIN, "alex");
    await app.close();
    assert.equal(await s1.events.next(), undefined);
    assert.equal(await s2.events.next(), undefined);
    const res = await f(new Request(`${ORIGIN}/api/sse`, { headers: { authorization: "Bearer adele" } }));
    assert.equal(res.status, 503);
  });
});

describe("real clients in process", () => {
  const clientFetch = async (url: string | URL, init?: RequestInit) => fetchApp(new Request(url, init));

  test("the v2 SSEClientTransport on the 2025 handshake (initialize) calls whoami", async () => {
    const transport = new SSEClientTransport(new URL(`${ORIGIN}/api/sse`), {
      authProvider: { token: async () => "adele" },
      fetch: clientFetch,
    });
    const client = new Client({ name: "sse-2025", version: "1.0.0" });
    await client.connect(transport);
    try {
      const r = await client.callTool({ name: "whoami", arguments: {} });
      assert.equal((r.structuredContent as { objectId: string }).objectId, USERS.adele.objectId);
    } finally {
      await client.close();
    }
  });

  test("a 2026-07-28 client (server/discover, _meta envelope) over SSE: the bridge mirrors the standard headers", async () => {
    const transport = new SSEClientTransport(new URL(`${ORIGIN}/api/sse`), {
      authProvider: { token: async () => "alex" },
      fetch: clientFetch,
    });
    const client = new Client(
      { name: "sse-2026", version: "1.0.0" },
      { versionNegotiation: { mode: { pin: "2026-07-28" } } },
    );
    await client.connect(transport);
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === "get_graph_user_details"));
      const r = await client.callTool({ name: "whoami", arguments: {} });
      assert.equal((r.structuredContent as { objectId: string }).objectId, USERS.alex.objectId);
    } finally {
      await client.close();
    }
  });
});

describe("events", () => {
  test("the reader joins multi-line data, skips comments and data-less events, and handles split chunks", async () => {
    const enc = new TextEncoder();
    const chunks = [
      ": hi\r\n",
      'event: message\r\ndata: {"a":',
      "1}\r\n\r",
      "\nid: 7\n\ndata: x\ndata: y\n\n",
      "data: z",
    ];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(enc.encode(ch));
        c.close();
      },
    });
    const reader = new EventReader(body);
    assert.deepEqual(await reader.next(), { event: "message", data: '{"a":1}', id: undefined });
    assert.deepEqual(await reader.next(), { event: "message", data: "x\ny", id: "7" });
    assert.equal(await reader.next(), undefined, "an event without its blank line is not dispatched");
  });
});
