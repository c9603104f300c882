// Fault controls over real HTTP: 5xx and 429 in each endpoint's own error format, hangs that end when
// the client gives up or the fault is cleared, connection resets, N times or until cleared; the admin
// endpoint (loopback, non-browser only); the CLI's flag form; and what the real @azure/identity sees.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { after, afterEach, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseFaultFlag } from "./faults.ts";
import { codeFor, form, miToken, startTrusted, tokenUrl, userToken } from "./fixtures/helpers.ts";
import type { Emulator } from "./index.ts";

let em: Emulator;
let adele: string;
before(async () => {
  em = await startTrusted();
  adele = em.users.find((u) => u.consented)!.upn;
});
afterEach(() => em.faults.clear());
after(() => em.stop());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on its own connection, so a reset or a hang is seen exactly as a client sees it. */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  const u = new URL(url);
  const send = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      { method: opts.method ?? "GET", headers: opts.headers, agent: false, ca: em.caPem },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error("client gave up")));
    req.on("error", reject);
    req.end(opts.body);
  });
}

const refreshForm = (refreshToken: string) =>
  new URLSearchParams({
    client_id: em.publicClient.clientId,
    grant_type: "refresh_token",
    refresh_token: refreshToken,
  }).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const discoveryUrl = () => `${em.issuer}/.well-known/openid-configuration`;
const jwksUrl = () => `${em.authorityHost}/${em.tenantId}/discovery/v2.0/keys`;
const miUrl = () =>
  `${em.identityEndpoint}?${new URLSearchParams({ "api-version": "2019-08-01", resource: "api://AzureADTokenExchange", client_id: em.managedIdentity.clientId })}`;

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

describe("token endpoint faults, per grant type", () => {
  test("503 at refresh_token only: Entra's temporarily_unavailable envelope, once, then the grant works", async () => {
    const tokens = await userToken(em, adele);
    em.faults.add({ target: "token.refresh_token", answer: 503, times: 1 });
    // Another grant type is not affected.
    const { code, verifier, redirectUri } = await codeFor(em, adele);
    const byCode = await fetch(
      tokenUrl(em),
      form({
        client_id: em.publicClient.clientId,
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }),
    );
    assert.equal(byCode.status, 200);

    const failed = await raw(`${tokenUrl(em)}?client-request-id=8f0c1d2e-0000-4000-8000-000000000001`, {
      method: "POST",
      headers: FORM,
      body: refreshForm(tokens.refresh_token),
    });
    assert.equal(failed.status, 503);
    assert.equal(failed.headers["retry-after"], undefined);
    assert.equal(failed.headers["cache-control"], "no-store, no-cache");
    const body = JSON.parse(failed.body);
    assert.equal(body.error, "temporarily_unavailable");
    assert.deepEqual(body.error_codes, [90033]);
    assert.match(
      body.error_description,
      /^AADSTS90033: A transient error has occurred\. Please try again\. Trace ID: /,
    );
    assert.equal(body.correlation_id, "8f0c1d2e-0000-4000-8000-000000000001");
    assert.equal(failed.headers["x-ms-request-id"], body.trace_id);

    const retried = await raw(tokenUrl(em), {
      method: "POST",
      headers: FORM,
      body: refreshForm(tokens.refresh_token),
    });
    assert.equal(retried.status, 200, "the grant is intact after the fault");
    assert.deepEqual(em.faults.list(), [], "a spent fault leaves the table");
  });

  test("429 with Retry-After at authorization_code until cleared; 502 for every grant with `token`", async () => {
    const { id } = em.faults.add({ target: "token.authorization_code", answer: 429, retryAfter: 7 });
    for (let i = 0; i < 2; i++) {
      const { code, verifier, redirectUri } = await codeFor(em, adele);
      const res = await fetch(
        tokenUrl(em),
        form({
          client_id: em.publicClient.clientId,
          grant_type: "authorization_code",
          code,
          redirect_uri: redirectUri,
          code_verifier: verifier,
        }),
      );
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "7");
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.error, "temporarily_unavailable");
      assert.deepEqual(body.error_codes, [90055]);
    }
    assert.equal(em.faults.list()[0].hits, 2);
    em.faults.clear(id);

    em.faults.add({ target: "token", answer: 502, times: 2 });
    const tokens = await userToken(em, adele).catch((e: Error) => e);
    assert.match(String(tokens), /token: 502 .*temporarily_unavailable/);
    const oboRes = await fetch(
      tokenUrl(em),
      form({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", client_id: em.apiApp.clientId }),
    );
    assert.equal(oboRes.status, 502);
    assert.equal(((await oboRes.json()) as Record<string, unknown>).error, "temporarily_unavailable");
  });

  test("reset: the token request's connection is reset, nothing is answered", async () => {
    em.faults.add({ target: "token.obo", answer: "reset", times: 1 });
    const err = await raw(tokenUrl(em), {
      method: "POST",
      headers: FORM,
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer" }).toString(),
    }).catch((e: NodeJS.ErrnoException) => e);
    assert.ok(err instanceof Error, "no answer");
    assert.equal((err as NodeJS.ErrnoException).code, "ECONNRESET");
  });

  test("hang: no answer until the client gives up; the held request is counted and then let go", async () => {
    em.faults.add({ target: "token.refresh_token", answer: "hang" });
    const t0 = Date.now();
    const err = await raw(tokenUrl(em), {
      method: "POST",
      headers: FORM,
      body: refreshForm("1.whatever"),
      timeoutMs: 400,
    }).catch((e: Error) => e);
    assert.equal((err as Error).message, "client gave up");
    assert.ok(Date.now() - t0 >= 390);
    await until(
      () => em.faults.list()[0].hanging === 0,
      "the emulator lets go of a request whose client left",
    );
    assert.equal(em.faults.list()[0].hits, 1);
  });

  test("hang then clear: the held request gets its normal answer", async () => {
    const tokens = await userToken(em, adele);
    const { id } = em.faults.add({ target: "token.refresh_token", answer: "hang", times: 1 });
    const pending = raw(tokenUrl(em), {
      method: "POST",
      headers: FORM,
      body: refreshForm(tokens.refresh_token),
    });
    await until(() => em.faults.list()[0]?.hanging === 1, "the request is held");
    assert.equal(
      em.faults.list()[0].remaining,
      0,
      "a spent hang fault stays listed while it holds a request",
    );
    em.faults.clear(id);
    const res = await pending;
    assert.equal(res.status, 200);
    assert.ok(JSON.parse(res.body).access_token);
  });
});

describe("discovery, JWKS, authorize, managed identity and Graph faults", () => {
  test("discovery 503 and JWKS 429 answer Entra's envelope; the other stays up", async () => {
    em.faults.add({ target: "discovery", answer: 503, retryAfter: 2, times: 1 });
    const d = await raw(discoveryUrl());
    assert.equal(d.status, 503);
    assert.equal(d.headers["retry-after"], "2");
    assert.deepEqual(JSON.parse(d.body).error_codes, [90033]);
    assert.equal((await raw(jwksUrl())).status, 200);
    em.faults.add({ target: "jwks", answer: 429 });
    const j = await raw(jwksUrl());
    assert.equal(j.status, 429);
    assert.equal(j.headers["retry-after"], "60", "429 defaults to Retry-After: 60");
    assert.equal((await raw(discoveryUrl())).status, 200);
  });

  test("authorize 503 is Entra's error page with that status", async () => {
    em.faults.add({ target: "authorize", answer: 503, times: 1 });
    const res = await raw(
      `${em.browserAuthorityHost}/${em.tenantId}/oauth2/v2.0/authorize?client_id=${em.publicClient.clientId}`,
    );
    assert.equal(res.status, 503);
    assert.match(res.headers["content-type"] as string, /^text\/html/);
    assert.match(res.body, /data-error-code="90033"/);
  });

  test("managed identity: 500 and 429 in the App Service format; reset; hang", async () => {
    em.faults.add({ target: "mi", answer: 500, times: 1 });
    const five = await raw(miUrl(), { headers: { "X-IDENTITY-HEADER": em.identityHeader } });
    assert.equal(five.status, 500);
    const body = JSON.parse(five.body);
    assert.deepEqual(Object.keys(body), ["statusCode", "message", "correlationId"]);
    assert.equal(body.statusCode, 500);

    em.faults.add({ target: "mi", answer: 429, retryAfter: 3, times: 1 });
    const throttled = await raw(miUrl(), { headers: { "X-IDENTITY-HEADER": em.identityHeader } });
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers["retry-after"], "3");
    assert.equal(JSON.parse(throttled.body).statusCode, 429);

    em.faults.add({ target: "mi", answer: "reset", times: 1 });
    const reset = await raw(miUrl(), { headers: { "X-IDENTITY-HEADER": em.identityHeader } }).catch((e) => e);
    assert.equal((reset as NodeJS.ErrnoException).code, "ECONNRESET");

    em.faults.add({ target: "mi", answer: "hang", times: 1 });
    const hung = await raw(miUrl(), {
      headers: { "X-IDENTITY-HEADER": em.identityHeader },
      timeoutMs: 300,
    }).catch((e: Error) => e);
    assert.equal((hung as Error).message, "client gave up");
    assert.ok(await miToken(em), "then the endpoint answers again");
  });

  test("Graph per path and all of Graph, in Graph's error format", async () => {
    const graphToken = await em.mintGraphToken();
    const get = (path: string) =>
      raw(`${em.graphBaseUrl}${path}`, { headers: { authorization: `Bearer ${graphToken}` } });
    em.faults.add({ target: "graph:/v1.0/me/photo/$value", answer: 504 });
    const photo = await get("/me/photo/$value");
    assert.equal(photo.status, 504);
    assert.equal(JSON.parse(photo.body).error.code, "GatewayTimeout");
    assert.equal((await get("/me")).status, 200, "other paths are untouched");
    assert.equal((await get("/me/photo")).status, 200);

    em.faults.clear();
    em.faults.add({ target: "graph", answer: 429, retryAfter: 4, times: 2 });
    for (const path of ["/me?$select=displayName", "/me/photo"]) {
      const res = await get(path);
      assert.equal(res.status, 429);
      assert.equal(res.headers["retry-after"], "4");
      assert.equal(JSON.parse(res.body).error.code, "TooManyRequests");
    }
    assert.equal((await get("/me")).status, 200, "after N times the fault is gone");

    em.faults.add({ target: "graph.me", answer: "reset", times: 1 });
    const reset = await get("/me").catch((e) => e);
    assert.equal((reset as NodeJS.ErrnoException).code, "ECONNRESET");
  });
});

describe("admin endpoint", () => {
  const admin = (opts: Parameters<typeof raw>[1] = {}) => raw(em.adminUrl, opts);
  const JSON_HEADERS = { "content-type": "application/json" };

  test("add, list and clear faults over HTTP; they act on the endpoints", async () => {
    assert.ok(em.adminUrl.startsWith(`${em.browserAuthorityHost}/_emulator/`));
    const added = await admin({
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify([
        { target: "jwks", answer: 503, times: 1 },
        { target: "graph", answer: "hang" },
      ]),
    });
    assert.equal(added.status, 201);
    const [jwks, graph] = JSON.parse(added.body).faults;
    assert.equal(jwks.remaining, 1);
    assert.equal(graph.remaining, null);
    const listed = JSON.parse((await admin()).body).faults;
    assert.deepEqual(
      listed.map((f: { id: string }) => f.id),
      [jwks.id, graph.id],
    );
    assert.equal((await raw(jwksUrl())).status, 503);

    const one = await raw(`${em.adminUrl}/${graph.id}`, { method: "DELETE" });
    assert.deepEqual(JSON.parse(one.body), { cleared: 1 });
    assert.equal((await raw(`${em.adminUrl}/${graph.id}`, { method: "DELETE" })).status, 404);
    em.faults.add({ target: "mi", answer: 503 });
    assert.deepEqual(JSON.parse((await admin({ method: "DELETE" })).body), { cleared: 1 });
    assert.deepEqual(em.faults.list(), []);
  });

  test("bad faults are 400 with the reason; non-JSON is 415", async () => {
    for (const [fault, reason] of [
      [{ target: "token.password", answer: 503 }, /target must be one of/],
      [{ target: "token", answer: 404 }, /answer must be 429, a 5xx status/],
      [{ target: "token", answer: "hang", retryAfter: 3 }, /retryAfter goes with/],
      [{ target: "token", answer: 503, times: 0 }, /times must be/],
      [{ target: "token", answer: 503, after: 1 }, /unknown fault field 'after'/],
    ] as const) {
      const res = await admin({ method: "POST", headers: JSON_HEADERS, body: JSON.stringify(fault) });
      assert.equal(res.status, 400, JSON.stringify(fault));
      assert.match(JSON.parse(res.body).message, reason);
    }
    const text = await admin({ method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
    assert.equal(text.status, 415);
    assert.deepEqual(em.faults.list(), []);
  });

  test("browsers and rebound host names are refused; it is not on the Entra listener", async () => {
    const body = JSON.stringify({ target: "token", answer: 503 });
    for (const headers of [
      { ...JSON_HEADERS, origin: "https://attacker.example" },
      { ...JSON_HEADERS, "sec-fetch-site": "cross-site" },
      { ...JSON_HEADERS, host: "attacker.example" },
    ]) {
      const res = await admin({ method: "POST", headers, body });
      assert.equal(res.status, 403, JSON.stringify(headers));
    }
    const viaLocalhost = await admin({ headers: { host: `localhost:${new URL(em.adminUrl).port}` } });
    assert.equal(viaLocalhost.status, 200);
    assert.deepEqual(em.faults.list(), []);
    const onEntra = await raw(`${em.authorityHost}/_emulator/faults`);
    assert.equal(onEntra.status, 404);
  });

  test("the CLI's --fault form", () => {
    assert.deepEqual(parseFaultFlag("token.obo=503"), { target: "token.obo", answer: 503 });
    assert.deepEqual(parseFaultFlag("token.refresh_token=429,retry-after=5,times=2"), {
      target: "token.refresh_token",
      answer: 429,
      retryAfter: 5,
      times: 2,
    });
    assert.deepEqual(parseFaultFlag("graph:/v1.0/me=hang"), { target: "graph:/v1.0/me", answer: "hang" });
    assert.deepEqual(parseFaultFlag("mi=reset,times=1"), { target: "mi", answer: "reset", times: 1 });
    assert.throws(() => parseFaultFlag("token.obo"), /expected <target>=<answer>/);
    assert.throws(() => parseFaultFlag("token.obo=503,count=2"), /unknown option 'count'/);
    assert.throws(() => parseFaultFlag("token.obo=503,times=x"), /times must be/);
  });
});

describe("the real @azure/identity against injected faults", () => {
  const child = fileURLToPath(new URL("./fixtures/identity-faults-child.ts", import.meta.url));
  let assertion: string;
  before(async () => {
    assertion = (await userToken(em, adele)).access_token;
  });
  async function run() {
    em.resetCounts();
    const { stdout } = await promisify(execFile)(process.execPath, [child], {
      env: { PATH: process.env.PATH ?? "", ...em.serverEnv(), USER_ASSERTION: assertion },
      timeout: 60_000,
    });
    const out = JSON.parse(stdout.trim().split("\n").pop()!);
    return { ...out, counts: em.counts() } as {
      mi: { ok?: boolean; error?: string; ms: number };
      obo: { ok?: boolean; error?: string; ms: number };
      counts: Record<string, number>;
    };
  }

  test("one 503 at OBO and one at the MI endpoint: the SDK retries and gets its tokens", async () => {
    em.faults.add({ target: "token.obo", answer: 503, times: 1 });
    em.faults.add({ target: "mi", answer: 503, times: 1 });
    const out = await run();
    assert.equal(out.mi.ok, true, out.mi.error);
    assert.equal(out.obo.ok, true, out.obo.error);
    assert.equal(out.counts["token.obo"], 2, "the OBO request was sent twice");
    assert.equal(out.counts.mi, 2, "the MI request was sent twice");
  });

  test("OBO throttled until cleared: the SDK honours Retry-After, gives up, and reports Entra's error", async () => {
    em.faults.add({ target: "token.obo", answer: 429, retryAfter: 1 });
    const out = await run();
    assert.equal(out.mi.ok, true);
    assert.match(String(out.obo.error), /temporarily_unavailable/);
    assert.match(String(out.obo.error), /AADSTS90055/);
    assert.ok(out.counts["token.obo"] > 1, "retried");
    assert.ok(
      out.obo.ms >= (out.counts["token.obo"] - 1) * 1000 - 100,
      `waited Retry-After between tries (${out.obo.ms} ms)`,
    );
  });
});
