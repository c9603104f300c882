/**
 * Storage in trouble (Azurite stopped, frozen with SIGSTOP, restarted), a crashed instance's SSE
 * sessions, and shutdown under load, against real server processes: answers are `503` with
 * `Retry-After` within a bounded time (a page where a browser is, JSON elsewhere), `/api/health` tells,
 * the server recovers by itself, and no grant is lost.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type Client,
  refresh,
  registerClient,
  registerRaw,
  signInTokens,
  type Tokens,
} from "@entra-mcp/testing/authorization-server";
import { type Azurite, startAzurite } from "@entra-mcp/testing/azurite";
import { toolCall } from "@entra-mcp/testing/mcp-request";
import { openStream } from "@entra-mcp/testing/sse";
import { type ServerProcess, type Stack, startServer, startStack } from "@entra-mcp/testing/stack";
import { eventually } from "@entra-mcp/testing/wait";

const dir = mkdtempSync(join(tmpdir(), "resilience-azurite-"));
let stack: Stack;
let azurite: Azurite;
let client: Client;
let tokens: Tokens;
const extra: ServerProcess[] = [];

before(async () => {
  stack = await startStack({ azuriteDir: dir });
  azurite = stack.azurite as Azurite;
  client = await registerClient(stack, { client_name: "Storage resilience" });
  tokens = await signInTokens(stack, client);
});

after(async () => {
  for (const s of extra) await s.stop().catch(() => {});
  await azurite?.stop().catch(() => {});
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
}

async function health() {
  const res = await fetch(`${stack.server.url}/api/health`);
  return {
    status: res.status,
    body: (await res.json()) as { status: string; checks: Record<string, string> },
  };
}

async function tool(accessToken = tokens.access_token, name = "whoami") {
  const { headers, body } = toolCall(name);
  return fetch(stack.server.mcpUrl, {
    method: "POST",
    headers: { ...headers, authorization: `Bearer ${accessToken}` },
    body,
  });
}

/** What every endpoint answers while storage is out, within a bounded time. */
async function assertStorageOut() {
  const token = await timed(() => refresh(stack, client, tokens.refresh_token));
  assert.equal(token.value.status, 503, await token.value.clone().text());
  assert.equal(((await token.value.json()) as { error: string }).error, "temporarily_unavailable");
  assert.ok(Number(token.value.headers.get("retry-after")) > 0, "Retry-After on /token");
  assert.ok(token.ms < 10_000, `/token answered in ${token.ms} ms`);

  const mcp = await timed(() => tool());
  assert.equal(mcp.value.status, 503, "a 503, not a 401 that restarts sign-in");
  assert.equal(mcp.value.headers.get("www-authenticate"), null);
  assert.ok(Number(mcp.value.headers.get("retry-after")) > 0);
  assert.ok(mcp.ms < 10_000, `/api/mcp answered in ${mcp.ms} ms`);

  const reg = await timed(() =>
    registerRaw(stack, { client_name: "late", redirect_uris: ["http://127.0.0.1:9/cb"] }),
  );
  assert.equal(reg.value.status, 503, await reg.value.clone().text());
  assert.match(reg.value.headers.get("content-type") ?? "", /json/);
  assert.ok(reg.ms < 10_000, `/register answered in ${reg.ms} ms`);

  const page = await timed(() =>
    fetch(`${stack.server.url}/authorize?client_id=${encodeURIComponent(client.client_id)}`),
  );
  assert.equal(page.value.status, 503);
  assert.match(page.value.headers.get("content-type") ?? "", /text\/html/, "a page for the browser");
  assert.match(await page.value.text(), /try again/i);
  assert.ok(Number(page.value.headers.get("retry-after")) > 0);

  const h = await timed(health);
  assert.equal(h.value.status, 200, "the instance itself answers");
  assert.equal(h.value.body.status, "degraded");
  assert.equal(h.value.body.checks.storage, "unavailable");
  assert.equal(h.value.body.checks.entra, "ok");
  assert.doesNotMatch(JSON.stringify(h.value.body.checks), /127\.0\.0\.1|ECONN|Error/);
  assert.ok(h.ms < 5_000, `/api/health answered in ${h.ms} ms`);
}

/** Back by itself: the grant works, the refresh token rotates, health is ok. */
async function assertRecovered() {
  await eventually(async () => (await tool()).status === 200, "the MCP endpoint to answer again", 20_000);
  const res = await refresh(stack, client, tokens.refresh_token);
  assert.equal(res.status, 200, `the grant survived: ${await res.clone().text()}`);
  tokens = (await res.json()) as Tokens;
  assert.equal((await tool()).status, 200);
  await eventually(async () => (await health()).body.status === "ok", "health to say ok", 15_000);
}

describe("storage down", () => {
  test("health reports storage and Entra ok to begin with", async () => {
    const h = await health();
    assert.equal(h.status, 200);
    assert.deepEqual(h.body.checks, { storage: "ok", entra: "ok" });
  });

  test("Azurite frozen (SIGSTOP): 503s with Retry-After within seconds, then recovery", async () => {
    azurite.pause();
    try {
      await new Promise((r) => setTimeout(r, 5_000)); // the health check's last answer ages out
      await assertStorageOut();
    } finally {
      azurite.resume();
    }
    await assertRecovered();
  });

  test("Azurite stopped, then restarted on the same port and data: recovery, no grant lost", async () => {
    const port = azurite.tablePort;
    await azurite.stop();
    await new Promise((r) => setTimeout(r, 5_000));
    await assertStorageOut();
    azurite = await startAzurite({ dir, tablePort: port });
    await assertRecovered();
  });
});

describe("SSE sessions of a crashed instance", () => {
  test("stop counting against the user's limit within seconds", async () => {
    const second = await startServer(stack.env, { quiet: true });
    extra.push(second);
    const streams = [];
    for (let i = 0; i < 5; i++) streams.push(await openStream(fetch, second.url, tokens.access_token));
    const refused = await fetch(`${stack.server.url}/api/sse`, {
      headers: { authorization: `Bearer ${tokens.access_token}`, accept: "text/event-stream" },
    });
    assert.equal(refused.status, 429, "the limit counts sessions on every instance");
    await refused.body?.cancel();

    second.child.kill("SIGKILL");
    await once(second.child, "exit");
    for (const s of streams) s.abort();
    const started = Date.now();
    await eventually(
      async () => {
        const res = await fetch(`${stack.server.url}/api/sse`, {
          headers: { authorization: `Bearer ${tokens.access_token}`, accept: "text/event-stream" },
        });
        await res.body?.cancel();
        return res.status === 200;
      },
      "an SSE stream to be accepted after the crash",
      20_000,
    );
    assert.ok(Date.now() - started < 15_000, `accepted after ${Date.now() - started} ms`);
  });
});

describe("shutdown", () => {
  test("a request outlasting the grace period gets a 503 and the process exits 1", async () => {
    const server = await startServer({ ...stack.env, SHUTDOWN_GRACE_SEC: "1" }, { quiet: true });
    extra.push(server);
    stack.emulator.faults.add({ target: "graph.me", answer: "hang" });
    try {
      const { headers, body } = toolCall("get_graph_user_details");
      const pending = fetch(`http://127.0.0.1:${server.port}/api/mcp`, {
        method: "POST",
        headers: { ...headers, authorization: `Bearer ${tokens.access_token}` },
        body,
      });
      await new Promise((r) => setTimeout(r, 1_000)); // the call is in progress, waiting on Graph
      const exited = once(server.child, "exit");
      server.child.kill("SIGTERM");
      const res = await pending;
      assert.equal(res.status, 503);
      assert.ok(Number(res.headers.get("retry-after")) > 0);
      assert.equal(((await res.json()) as { error: string }).error, "temporarily_unavailable");
      const [code] = await exited;
      assert.equal(code, 1, "a non-zero exit: requests were cut");
    } finally {
      stack.emulator.faults.clear();
    }
  });

  test("an idle server stops at once and exits 0", async () => {
    const server = await startServer(stack.env, { quiet: true });
    extra.push(server);
    const exited = once(server.child, "exit");
    server.child.kill("SIGTERM");
    const [code] = await exited;
    assert.equal(code, 0);
  });
});
