/**
 * Two server processes on one Azurite (proxy mode, the Table Storage backplane), as two Function App
 * instances behind a load balancer: the event stream is held by one, the POSTs land on the other, and the
 * responses still arrive. Also: a stranger's POST is refused on both, a closed stream frees its session
 * and its slot in the per-user limit everywhere, and SIGTERM ends open streams cleanly.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import { proxyToken } from "@entra-mcp/testing/mcp-clients";
import { INITIALIZE, type OpenStream, openStream, postMessage, request } from "@entra-mcp/testing/sse";
import { freePort, type ServerProcess, type Stack, startServer, startStack } from "@entra-mcp/testing/stack";
import { eventually } from "@entra-mcp/testing/wait";

let stack: Stack;
let a: ServerProcess;
let b: ServerProcess;
let adeleToken = "";
let alexToken = "";
const streams: OpenStream[] = [];

const fetchNet = (req: Request) => fetch(req);
/** The same path on the other instance (the message URL names the public origin, which is A's). */
const onB = (url: URL) => new URL(`${url.pathname}${url.search}`, `http://127.0.0.1:${b.port}`);

async function open(server: ServerProcess, token: string): Promise<OpenStream> {
  const s = await openStream(fetchNet, `http://127.0.0.1:${server.port}`, token);
  streams.push(s);
  return s;
}

/** The status B answers for a ping to the stream's session. */
async function pingStatus(s: OpenStream): Promise<number> {
  const res = await postMessage(fetchNet, onB(s.messageUrl), adeleToken, request("ping"));
  await res.body?.cancel();
  return res.status;
}

async function gone(s: OpenStream): Promise<void> {
  s.abort();
  await eventually(async () => (await pingStatus(s)) === 404, "an earlier session to be closed");
}

before(async () => {
  stack = await startStack();
  a = stack.server;
  // A second instance: same settings (same PUBLIC_URL, so the same resource and issuer), same Azurite.
  b = await startServer(stack.env, { port: await freePort(), quiet: true });
  const [adele, alex] = stack.emulator.users;
  adeleToken = await proxyToken(a.url, adele.upn, "SSE instances (Adele)");
  alexToken = await proxyToken(a.url, alex.upn, "SSE instances (Alex)");
});

after(async () => {
  for (const s of streams) s.abort();
  await b?.stop();
  await stack?.stop();
});

describe("two instances, one Azurite", () => {
  test("the stream is on A, every POST goes to B, and the responses arrive on A's stream", async () => {
    const s = await open(a, adeleToken);
    try {
      const init = request("initialize", INITIALIZE);
      assert.equal((await postMessage(fetchNet, onB(s.messageUrl), adeleToken, init)).status, 202);
      assert.equal((await s.events.message()).id, init.id);
      const notified = await postMessage(fetchNet, onB(s.messageUrl), adeleToken, {
        method: "notifications/initialized",
      });
      assert.equal(notified.status, 202);

      const call = request("tools/call", { name: "get_graph_user_details", arguments: {} });
      const posted = await postMessage(fetchNet, onB(s.messageUrl), adeleToken, call, {
        "mcp-protocol-version": "2024-11-05",
      });
      assert.equal(posted.status, 202);
      const answer = await s.events.message();
      assert.equal(answer.id, call.id);
      const text = (answer.result as { content: Array<{ text: string }> }).content[0].text;
      assert.equal(
        (JSON.parse(text) as { userPrincipalName: string }).userPrincipalName,
        stack.emulator.users[0].upn,
      );

      // B processed the messages (it called Graph), A only delivered them.
      assert.doesNotMatch(b.output(), /sse session opened/);
      assert.match(a.output(), /sse session opened/);
    } finally {
      s.abort();
    }
  });

  test("a stranger's POST to someone else's session is refused on either instance", async () => {
    const s = await open(a, adeleToken);
    try {
      for (const url of [s.messageUrl, onB(s.messageUrl)]) {
        const res = await postMessage(fetchNet, url, alexToken, request("tools/call", { name: "whoami" }));
        assert.equal(res.status, 404);
        assert.equal(((await res.json()) as { error: { code: number } }).error.code, -32001);
      }
      assert.match(b.output(), /the session belongs to another user/);
      // Nothing of Alex's reached Adele's stream: the next message is the answer to her own ping.
      const ping = request("ping");
      assert.equal((await postMessage(fetchNet, onB(s.messageUrl), adeleToken, ping)).status, 202);
      assert.equal((await s.events.message()).id, ping.id);
    } finally {
      s.abort();
    }
  });

  test("closing a stream frees its session and its slot; the limit counts streams on both instances", async () => {
    // The streams of the tests above were dropped by their clients: wait until they are gone everywhere
    // (the count lives in the table).
    for (const earlier of [...streams]) await gone(earlier);
    const mine = [await open(a, adeleToken), await open(b, adeleToken), await open(a, adeleToken)];
    mine.push(await open(b, adeleToken), await open(a, adeleToken));
    try {
      const sixth = await fetch(`http://127.0.0.1:${b.port}/api/sse`, {
        headers: { authorization: `Bearer ${adeleToken}` },
      });
      assert.equal(sixth.status, 429, await sixth.text());

      // Adele's client drops the stream held by A; B learns the session is gone.
      const closing = mine[0];
      closing.abort();
      await eventually(
        async () => (await pingStatus(closing)) === 404,
        "the closed session to answer 404 on the other instance",
      );
      // …and its slot is free again.
      const again = await open(b, adeleToken);
      const ping = request("ping");
      assert.equal((await postMessage(fetchNet, onB(again.messageUrl), adeleToken, ping)).status, 202);
      assert.equal((await again.events.message()).id, ping.id);
    } finally {
      for (const s of mine) s.abort();
    }
  });

  test("SIGTERM ends the instance's open streams cleanly and the process exits", async () => {
    const s = await open(b, adeleToken);
    const exited = once(b.child, "exit");
    b.child.kill("SIGTERM");
    // A clean end of stream (the chunked response is terminated), not a reset connection.
    assert.equal(await s.events.next(), undefined);
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
    assert.match(b.output(), /"reason":"server shutting down"/);
    // Every connection closed and the server stopped on its own (not the forced exit after a grace period).
    assert.match(b.output(), /"msg":"stopped"/);
    // The session was removed from the table on the way out: A answers 404 for it at once.
    const res = await postMessage(
      fetchNet,
      new URL(`${s.messageUrl.pathname}${s.messageUrl.search}`, a.url),
      adeleToken,
      request("ping"),
    );
    assert.equal(res.status, 404);
  });
});
