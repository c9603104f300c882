import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  type CimdResolver,
  type CimdResolverOptions,
  cacheLifetimeSec,
  checkCimdClientId,
  createCimdResolver,
  isCimdClientId,
} from "../../../api/src/authorization-server/clients/cimd.ts";
import { AsError, OAuthError } from "../../../api/src/authorization-server/errors.ts";

/** A document server on 127.0.0.1 that counts hits per path. */
let server: Server;
let origin: string;
const hits = new Map<string, number>();
const hitsOf = (path: string) => hits.get(path) ?? 0;
let flakyFailuresLeft = 0;
/** The status /flaky.json fails with. */
let flakyStatus = 503;
/** How far the server got streaming /big.json (10 MiB) before the client went away. */
let bigSent = 0;
const BIG_CHUNKS = 10 * 1024;

function doc(path: string, extra: Record<string, unknown> = {}) {
  return {
    client_id: `${origin}${path}`,
    client_name: "Test Client",
    redirect_uris: ["http://127.0.0.1:3000/callback", "https://app.example/cb"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    ...extra,
  };
}

function json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

function handle(req: IncomingMessage, res: ServerResponse) {
  const path = new URL(req.url ?? "/", origin).pathname;
  hits.set(path, hitsOf(path) + 1);
  switch (path) {
    case "/client.json":
      return json(res, doc(path), { "cache-control": "public, max-age=60" });
    case "/default-cache.json":
      return json(res, doc(path));
    case "/no-store.json":
      return json(res, doc(path), { "cache-control": "no-store" });
    case "/long-cache.json":
      return json(res, doc(path), { "cache-control": "max-age=999999999" });
    case "/charset.json":
      return json(res, doc(path), { "content-type": "application/json; charset=utf-8" });
    case "/mismatch.json":
      return json(res, doc(path, { client_id: `${origin}/other.json` }));
    case "/trailing-slash.json":
      return json(res, doc(path, { client_id: `${origin}${path}/` }));
    case "/secret.json":
      return json(res, doc(path, { client_secret: "s3cret" }));
    case "/jwk.json":
      return json(
        res,
        doc(path, { jwks: { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y", d: "private" }] } }),
      );
    case "/public-jwk.json":
      return json(res, doc(path, { jwks: { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y" }] } }));
    case "/pkjwt.json":
      return json(res, doc(path, { token_endpoint_auth_method: "private_key_jwt" }));
    case "/basic.json":
      return json(res, doc(path, { token_endpoint_auth_method: "client_secret_basic" }));
    case "/bad-redirect.json":
      return json(res, doc(path, { redirect_uris: ["http://evil.example/cb"] }));
    case "/array.json":
      return json(res, [doc(path)]);
    case "/not-json.json":
      res.writeHead(200, { "content-type": "application/json" });
      return res.end("{ not json");
    case "/html.json":
      res.writeHead(200, { "content-type": "text/html" });
      return res.end(JSON.stringify(doc(path)));
    case "/no-type.json":
      res.writeHead(200);
      return res.end(JSON.stringify(doc(path)));
    case "/big.json": {
      // Chunked, no Content-Length: the cap must be enforced while streaming.
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`{"client_id":"${origin}${path}","padding":"`);
      const chunk = "x".repeat(1024);
      bigSent = 0;
      const pump = () => {
        while (bigSent < BIG_CHUNKS && !res.destroyed) {
          bigSent++;
          if (!res.write(chunk)) return res.once("drain", pump);
        }
        if (!res.destroyed) res.end('"}');
      };
      return pump();
    }
    case "/big-declared.json":
      res.writeHead(200, { "content-type": "application/json", "content-length": "1000000" });
      return res.end("{}");
    case "/slow.json":
      setTimeout(() => json(res, doc(path)), 2_000).unref();
      return;
    case "/slow-body.json":
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"client_id":');
      setTimeout(() => res.end(`"${origin}${path}"}`), 2_000).unref();
      return;
    case "/redirect.json":
      res.writeHead(302, { location: "/client.json" });
      return res.end();
    case "/permanent.json":
      res.writeHead(308, { location: "/client.json" });
      return res.end();
    case "/flaky.json":
      if (flakyFailuresLeft > 0) {
        flakyFailuresLeft--;
        res.writeHead(flakyStatus);
        return res.end();
      }
      return json(res, doc(path), { "cache-control": "max-age=60" });
    default:
      res.writeHead(404, { "content-type": "application/json" });
      return res.end("{}");
  }
}

let clock = 1_700_000_000_000;
const now = () => clock;

function local(overrides: Partial<CimdResolverOptions> = {}): CimdResolver {
  return createCimdResolver({
    fetch: globalThis.fetch,
    resolveHost: async () => assert.fail("loopback URLs are not resolved with the local switch on"),
    now,
    allowLoopbackHttp: true,
    timeoutMs: 300,
    ...overrides,
  });
}

async function refusal(resolver: CimdResolver, clientId: string) {
  const r = await resolver.resolveResult(clientId);
  assert.equal(r.ok, false, `expected ${clientId} to be refused`);
  if (r.ok) throw new Error("unreachable");
  assert.equal(r.error.code, "invalid_client");
  return r.error;
}

before(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  hits.clear();
});

describe("isCimdClientId / checkCimdClientId (CIMD §3 URL rules)", () => {
  const valid = [
    "https://app.example/oauth/client.json",
    "https://app.example:8443/c",
    "https://app.example/c?v=1",
  ];
  for (const id of valid) test(`accepts ${id}`, () => assert.equal(isCimdClientId(id), true));
  const invalid: Array<[string, string]> = [
    ["http://app.example/client.json", "not_https"],
    ["https://app.example", "no_path"],
    ["https://app.example/", "no_path"],
    ["https://app.example/client.json#x", "fragment"],
    ["https://user:pw@app.example/client.json", "credentials"],
    ["https://app.example/a/../client.json", "dot_segment"],
    ["https://app.example/./client.json", "dot_segment"],
    ["https://app.example/a/%2E%2E/client.json", "dot_segment"],
    ["https://app.example/a b", "bad_characters"],
    ["https://app.example\\client.json", "bad_characters"],
    ["my-client", "unparseable"],
    ["HTTPS://app.example/client.json", "not_https"],
  ];
  for (const [id, reason] of invalid) {
    test(`refuses ${id} (${reason})`, () => {
      assert.equal(isCimdClientId(id), false);
      const r = checkCimdClientId(id);
      assert.equal(r.ok ? "ok" : r.error.reason, reason);
    });
  }
  test("loopback http only with the local switch, and only for loopback hosts", () => {
    assert.equal(checkCimdClientId("http://127.0.0.1:8080/c.json").ok, false);
    assert.equal(checkCimdClientId("http://127.0.0.1:8080/c.json", true).ok, true);
    assert.equal(checkCimdClientId("http://localhost:8080/c.json", true).ok, true);
    assert.equal(checkCimdClientId("http://[::1]:8080/c.json", true).ok, true);
    assert.equal(checkCimdClientId("http://app.example/c.json", true).ok, false);
  });
});

describe("createCimdResolver against a real local server (allowLoopbackHttp: true)", () => {
  test("a valid document becomes a client record", async () => {
    const resolver = local();
    const id = `${origin}/client.json`;
    const record = await resolver.resolve(id);
    assert.equal(record.client_id, id);
    assert.equal(record.source, "cimd");
    assert.equal(record.client_name, "Test Client");
    assert.deepEqual(record.redirect_uris, ["http://127.0.0.1:3000/callback", "https://app.example/cb"]);
    assert.equal(record.token_endpoint_auth_method, "none");
    assert.equal(record.application_type, "native");
    assert.equal(resolver.accepts(id), true);
  });

  test("JSON with a charset parameter and a public JWKS are fine", async () => {
    const resolver = local();
    assert.equal((await resolver.resolveResult(`${origin}/charset.json`)).ok, true);
    assert.equal((await resolver.resolveResult(`${origin}/public-jwk.json`)).ok, true);
  });

  const refusals: Array<[path: string, reason: string, description: RegExp]> = [
    ["/mismatch.json", "client_id_mismatch", /does not match its URL/],
    ["/trailing-slash.json", "client_id_mismatch", /does not match its URL/],
    ["/big.json", "too_large", /larger than 5120 bytes/],
    ["/big-declared.json", "too_large", /larger than 5120 bytes/],
    ["/slow.json", "timeout", /timed out/],
    ["/slow-body.json", "timeout", /timed out/],
    ["/redirect.json", "redirect", /redirects are not followed/],
    ["/permanent.json", "redirect", /redirects are not followed/],
    ["/html.json", "content_type", /application\/json/],
    ["/no-type.json", "content_type", /application\/json/],
    ["/not-json.json", "invalid_json", /not valid JSON/],
    ["/array.json", "invalid_json", /JSON object/],
    ["/secret.json", "client_secret_present", /must not contain a client_secret/],
    ["/jwk.json", "private_jwk_present", /private or symmetric key/],
    ["/pkjwt.json", "unsupported_auth_method", /private_key_jwt" is not supported/],
    ["/basic.json", "unsupported_auth_method", /shared secret/],
    [
      "/bad-redirect.json",
      "invalid_redirect_uri",
      /document is invalid: redirect_uri "http:\/\/evil\.example\/cb" must use https/,
    ],
    ["/missing.json", "http_status", /HTTP 404/],
  ];
  for (const [path, reason, description] of refusals) {
    test(`${path}: ${reason}`, async () => {
      const e = await refusal(local(), `${origin}${path}`);
      assert.equal(e.reason, reason);
      assert.match(e.description, description);
    });
  }

  test("the oversized stream is abandoned early, not read to the end", async () => {
    const started = Date.now();
    const e = await refusal(local({ timeoutMs: 5_000 }), `${origin}/big.json`);
    assert.equal(e.reason, "too_large");
    assert.match(e.detail ?? "", /read \d+ bytes/);
    assert.ok(Number(/read (\d+)/.exec(e.detail ?? "")?.[1]) < 1024 * 1024, "stopped long before the end");
    assert.ok(Date.now() - started < 2_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(bigSent < BIG_CHUNKS, `the server was cut off (sent ${bigSent} of ${BIG_CHUNKS} KiB)`);
  });

  test("resolve() throws an AsError (an OAuthError) with wire shape and log-only detail", async () => {
    await assert.rejects(local().resolve(`${origin}/redirect.json`), (err: unknown) => {
      assert.ok(err instanceof AsError);
      assert.ok(err instanceof OAuthError);
      assert.deepEqual(Object.keys(err.toResponseObject()).sort(), ["error", "error_description"]);
      assert.equal(err.toResponseObject().error, "invalid_client");
      assert.equal(err.reason, "redirect");
      assert.match(String(err.detail), /302/);
      return true;
    });
  });

  test("cache honours max-age, and expires", async () => {
    clock = 1_700_000_000_000;
    const resolver = local();
    const id = `${origin}/client.json`;
    await resolver.resolve(id);
    await resolver.resolve(id);
    clock += 59_000;
    await resolver.resolve(id);
    assert.equal(hitsOf("/client.json"), 1, "served from cache within max-age=60");
    clock += 2_000;
    await resolver.resolve(id);
    assert.equal(hitsOf("/client.json"), 2, "refetched after max-age");
  });

  test("no Cache-Control: cached for the default lifetime; no-store: never cached", async () => {
    clock = 1_700_000_000_000;
    const resolver = local({ defaultCacheSec: 120 });
    await resolver.resolve(`${origin}/default-cache.json`);
    clock += 119_000;
    await resolver.resolve(`${origin}/default-cache.json`);
    assert.equal(hitsOf("/default-cache.json"), 1);
    clock += 2_000;
    await resolver.resolve(`${origin}/default-cache.json`);
    assert.equal(hitsOf("/default-cache.json"), 2);

    await resolver.resolve(`${origin}/no-store.json`);
    await resolver.resolve(`${origin}/no-store.json`);
    assert.equal(hitsOf("/no-store.json"), 2);
  });

  test("max-age is capped at maxCacheSec", async () => {
    clock = 1_700_000_000_000;
    const resolver = local({ maxCacheSec: 3600 });
    await resolver.resolve(`${origin}/long-cache.json`);
    clock += 3_599_000;
    await resolver.resolve(`${origin}/long-cache.json`);
    assert.equal(hitsOf("/long-cache.json"), 1);
    clock += 2_000;
    await resolver.resolve(`${origin}/long-cache.json`);
    assert.equal(hitsOf("/long-cache.json"), 2);
  });

  test("errors are never cached", async () => {
    const resolver = local();
    flakyFailuresLeft = 2;
    const id = `${origin}/flaky.json`;
    assert.equal((await resolver.resolveResult(id)).ok, false);
    assert.equal((await resolver.resolveResult(id)).ok, false);
    assert.equal((await resolver.resolveResult(id)).ok, true);
    assert.equal((await resolver.resolveResult(id)).ok, true);
    assert.equal(hitsOf("/flaky.json"), 3, "two failures refetched, then the success cached");

    await refusal(resolver, `${origin}/mismatch.json`);
    await refusal(resolver, `${origin}/mismatch.json`);
    assert.equal(hitsOf("/mismatch.json"), 2);
  });

  test("host outage: a copy at most maxStaleSec past its freshness stands in, and the fallback is logged", async () => {
    clock = 1_700_000_000_000;
    const warnings: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    const logger = {
      info() {},
      error() {},
      warn: (msg: string, fields?: Record<string, unknown>) => void warnings.push({ msg, fields }),
    };
    const resolver = local({ maxStaleSec: 3600, logger });
    const id = `${origin}/flaky.json`;
    flakyFailuresLeft = 0;
    assert.equal((await resolver.resolveResult(id)).ok, true, "fetched and cached for 60 s");

    // Freshness over, the host answers 503: the cached copy is used.
    clock += 61_000;
    flakyFailuresLeft = 1;
    flakyStatus = 503;
    const during = await resolver.resolveResult(id);
    assert.ok(during.ok, "served from the stale copy");
    assert.equal(during.value.client_name, "Test Client");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].msg, /unreachable: using the cached copy/);
    assert.equal(warnings[0].fields?.client, id);
    assert.equal(warnings[0].fields?.reason, "http_status");

    // A host that answers 404 removed the document on purpose: no fallback.
    flakyFailuresLeft = 1;
    flakyStatus = 404;
    assert.equal((await resolver.resolveResult(id)).ok, false);
    flakyStatus = 503;

    // Past the bound: the outage is the answer.
    clock += 3_600_000;
    flakyFailuresLeft = 1;
    const late = await resolver.resolveResult(id);
    assert.equal(late.ok, false);
    assert.equal(warnings.length, 1, "no fallback past maxStaleSec");
    flakyFailuresLeft = 0;
  });

  test("host unreachable (connection refused): the cached copy stands in; a resolver without one fails", async () => {
    clock = 1_700_000_000_000;
    const id = `${origin}/client.json`;
    let up = true;
    const fetchWhileUp: CimdResolverOptions["fetch"] = async (url, init) => {
      if (!up) throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED") });
      return globalThis.fetch(url, init);
    };
    const resolver = local({ fetch: fetchWhileUp });
    assert.equal((await resolver.resolveResult(id)).ok, true);
    up = false;
    clock += 120_000;
    assert.equal((await resolver.resolveResult(id)).ok, true, "served from the copy");
    const fresh = await local({ fetch: fetchWhileUp }).resolveResult(id);
    assert.equal(fresh.ok, false);
    assert.equal(!fresh.ok && fresh.error.reason, "fetch_failed");
  });

  test("the cache is bounded", async () => {
    const resolver = local({ maxCacheEntries: 1 });
    await resolver.resolve(`${origin}/client.json`);
    await resolver.resolve(`${origin}/default-cache.json`);
    await resolver.resolve(`${origin}/client.json`);
    assert.equal(hitsOf("/client.json"), 2, "evicted by the second document");
  });

  test("concurrent resolutions of one document share a single fetch", async () => {
    const resolver = local();
    const id = `${origin}/client.json`;
    const records = await Promise.all([resolver.resolve(id), resolver.resolve(id), resolver.resolve(id)]);
    assert.equal(records.length, 3);
    assert.equal(hitsOf("/client.json"), 1);
  });
});

describe("createCimdResolver refuses before any request (SSRF)", () => {
  test("allowLoopbackHttp: false refuses the same loopback URL, no request made", async () => {
    let resolved = 0;
    const resolver = createCimdResolver({
      fetch: globalThis.fetch,
      resolveHost: async () => {
        resolved++;
        return ["127.0.0.1"];
      },
    });
    const e = await refusal(resolver, `${origin}/client.json`);
    assert.equal(e.reason, "not_https");
    assert.equal(resolver.accepts(`${origin}/client.json`), false);
    assert.equal(hitsOf("/client.json"), 0);
    assert.equal(resolved, 0);
  });

  const privateAnswers: Array<[string, string[]]> = [
    ["10.0.0.5", ["10.0.0.5"]],
    ["169.254.169.254 (cloud metadata)", ["169.254.169.254"]],
    ["::ffff:192.168.1.1 (IPv4-mapped)", ["::ffff:192.168.1.1"]],
    ["fd00::1 (unique local)", ["fd00::1"]],
    ["one private among public answers", ["8.8.8.8", "2606:4700::1111", "10.1.2.3"]],
    ["127.0.0.1", ["127.0.0.1"]],
    ["0.0.0.0", ["0.0.0.0"]],
  ];
  for (const [name, addresses] of privateAnswers) {
    test(`host resolving to ${name} is refused without fetching`, async () => {
      let fetched = 0;
      const resolver = createCimdResolver({
        fetch: async () => {
          fetched++;
          throw new Error("must not fetch");
        },
        resolveHost: async (host) => {
          assert.equal(host, "cimd.attacker.example");
          return addresses;
        },
      });
      const e = await refusal(resolver, "https://cimd.attacker.example/client.json");
      assert.equal(e.reason, "forbidden_address");
      assert.equal(e.description, "the client metadata document host is not a public Internet address");
      assert.doesNotMatch(e.description, /\d+\.\d+/, "the wire never names the internal address");
      assert.match(e.detail ?? "", /cimd\.attacker\.example ->/);
      assert.equal(fetched, 0);
    });
  }

  const literals = [
    "https://127.0.0.1/client.json",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/client.json",
    "https://[::ffff:10.0.0.1]/client.json",
    "https://[fd00::1]/client.json",
    "https://0x7f.1/client.json",
    "https://2130706433/client.json",
  ];
  for (const id of literals) {
    test(`IP-literal ${id} is refused without DNS or fetch`, async () => {
      const resolver = createCimdResolver({
        fetch: async () => assert.fail("must not fetch"),
        resolveHost: async () => assert.fail("must not resolve an IP literal"),
      });
      const e = await refusal(resolver, id);
      assert.equal(e.reason, "forbidden_address");
    });
  }

  test("DNS failure and an empty answer are refusals", async () => {
    const failing = createCimdResolver({
      fetch: async () => assert.fail("must not fetch"),
      resolveHost: async () => {
        throw new Error("ENOTFOUND");
      },
    });
    assert.equal((await refusal(failing, "https://nx.example/c.json")).reason, "dns_failure");
    const empty = createCimdResolver({
      fetch: async () => assert.fail("must not fetch"),
      resolveHost: async () => [],
    });
    assert.equal((await refusal(empty, "https://nx.example/c.json")).reason, "dns_failure");
  });

  test("a hanging DNS lookup is cut by the deadline", async () => {
    const resolver = createCimdResolver({
      fetch: async () => assert.fail("must not fetch"),
      resolveHost: () => new Promise(() => {}),
      timeoutMs: 100,
    });
    assert.equal((await refusal(resolver, "https://slow-dns.example/c.json")).reason, "timeout");
  });

  test("a public answer proceeds to fetch with redirect: manual and a deadline signal", async () => {
    let seen: RequestInit | undefined;
    const id = "https://app.example/client.json";
    const resolver = createCimdResolver({
      fetch: async (url, init) => {
        assert.equal(url, id);
        seen = init;
        return Response.json({ client_id: id, redirect_uris: ["https://app.example/cb"] });
      },
      resolveHost: async () => ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    });
    const record = await resolver.resolve(id);
    assert.equal(record.application_type, "web");
    assert.equal(seen?.redirect, "manual");
    assert.ok(seen?.signal instanceof AbortSignal);
  });

  test("a pinning fetch that refuses at connect time maps to forbidden_address", async () => {
    const resolver = createCimdResolver({
      fetch: async () => {
        throw new TypeError("fetch failed", {
          cause: Object.assign(new Error("refused"), { code: "ERR_FORBIDDEN_ADDRESS" }),
        });
      },
      resolveHost: async () => ["8.8.8.8"],
    });
    assert.equal((await refusal(resolver, "https://rebind.example/c.json")).reason, "forbidden_address");
  });

  test("misconfiguration is a TypeError at construction", () => {
    assert.throws(
      () => createCimdResolver({ fetch: undefined as never, resolveHost: async () => [] }),
      TypeError,
    );
    assert.throws(
      () => createCimdResolver({ fetch: globalThis.fetch, resolveHost: async () => [], maxBytes: -1 }),
      TypeError,
    );
  });
});

describe("cacheLifetimeSec (RFC 9111 §5.2)", () => {
  test("table", () => {
    assert.equal(cacheLifetimeSec(null, 300, 86400), 300);
    assert.equal(cacheLifetimeSec("max-age=60", 300, 86400), 60);
    assert.equal(cacheLifetimeSec("public, max-age=60", 300, 86400), 60);
    assert.equal(cacheLifetimeSec('max-age="60"', 300, 86400), 60);
    assert.equal(cacheLifetimeSec("MAX-AGE=60", 300, 86400), 60);
    assert.equal(cacheLifetimeSec("max-age=999999", 300, 86400), 86400);
    assert.equal(cacheLifetimeSec("max-age=0", 300, 86400), 0);
    assert.equal(cacheLifetimeSec("no-store", 300, 86400), 0);
    assert.equal(cacheLifetimeSec("max-age=60, no-cache", 300, 86400), 0);
    assert.equal(cacheLifetimeSec("max-age=abc", 300, 86400), 300);
    assert.equal(cacheLifetimeSec("max-age=-5", 300, 86400), 300);
  });
});
