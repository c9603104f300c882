import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { createCimdResolver } from "../../api/src/authorization-server/clients/cimd.ts";
import { createSafeFetch, resolveHost } from "../../api/src/hosts/node-deps.ts";

let server: Server;
let port: number;
let hits = 0;

before(async () => {
  server = createServer((req, res) => {
    hits++;
    const body = JSON.stringify({
      client_id: `http://${req.headers.host}${req.url}`,
      redirect_uris: ["http://127.0.0.1:3000/callback"],
    });
    res.writeHead(200, { "content-type": "application/json", "x-multi": ["a", "b"] });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("node-deps", () => {
  test("resolveHost returns every address", async () => {
    const addresses = await resolveHost("localhost");
    assert.ok(addresses.length >= 1);
    assert.ok(addresses.every((a) => a === "127.0.0.1" || a === "::1"));
  });

  test("safeFetch refuses a loopback IP literal before connecting", async () => {
    const before = hits;
    await assert.rejects(createSafeFetch()(`http://127.0.0.1:${port}/c.json`, {}), {
      code: "ERR_FORBIDDEN_ADDRESS",
    });
    assert.equal(hits, before);
  });

  test("safeFetch validates the address inside lookup: a name that resolves to loopback is refused at connect", async () => {
    const before = hits;
    await assert.rejects(createSafeFetch()(`http://localhost:${port}/c.json`, {}), {
      code: "ERR_FORBIDDEN_ADDRESS",
    });
    assert.equal(hits, before);
  });

  test("with allowLoopback (local testing) it behaves like fetch for GET", async () => {
    const res = await createSafeFetch({ allowLoopback: true })(`http://localhost:${port}/c.json`, {
      headers: { accept: "application/json" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("x-multi"), "a, b");
    assert.equal((await res.json()).client_id, `http://localhost:${port}/c.json`);
  });

  test("only GET/HEAD without a body", async () => {
    await assert.rejects(createSafeFetch()("https://app.example/", { method: "POST", body: "x" }), TypeError);
    await assert.rejects(createSafeFetch()("file:///etc/passwd", {}), TypeError);
  });

  test("the CIMD resolver maps a connect-time refusal (DNS rebinding) to forbidden_address", async () => {
    // The resolver's own host check is skipped for loopback under the local switch, so only the
    // pinning fetch stands between the request and 127.0.0.1: exactly the rebinding situation.
    const resolver = createCimdResolver({ fetch: createSafeFetch(), resolveHost, allowLoopbackHttp: true });
    const before = hits;
    const r = await resolver.resolveResult(`http://localhost:${port}/c.json`);
    assert.equal(r.ok ? "ok" : r.error.reason, "forbidden_address");
    assert.equal(hits, before);
  });

  test("end to end: resolver + safeFetch(allowLoopback) resolve a local document", async () => {
    const resolver = createCimdResolver({
      fetch: createSafeFetch({ allowLoopback: true }),
      resolveHost,
      allowLoopbackHttp: true,
    });
    const record = await resolver.resolve(`http://127.0.0.1:${port}/client.json`);
    assert.equal(record.client_id, `http://127.0.0.1:${port}/client.json`);
  });
});
