// OpenTelemetry and the audit trail, on a real sign-in: the server (proxy mode, Azurite, the Entra and
// Graph emulator) runs in this process with in-memory exporters registered as a host would register its
// SDK. A client registers, signs in, calls whoami and the Graph tool, rotates its refresh token, replays
// the old one (which revokes the grant), then calls with a token whose grant is gone.
//
// What an operator must see: a trace per request with spans for the token check, storage, OBO and
// Graph; metrics for the refusals by reason, the OBO cache, the replay, a rate-limit refusal; an audit
// record per tool call; one correlation id from the registration to the first MCP call in every log
// line of that sign-in. What must never be there: a token, a code, a PKCE verifier, Graph content.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { type Emulator, start as startEmulator } from "@entra-mcp/emulator";
import { pkce } from "@entra-mcp/emulator/login";
import { type Azurite, startAzurite } from "@entra-mcp/testing/azurite";
import { walkAuthorization } from "@entra-mcp/testing/browser-walk";
import { rpcResult, toolCall } from "@entra-mcp/testing/mcp-request";
import { freePort } from "@entra-mcp/testing/stack";
import { serve } from "@hono/node-server";
import { context, metrics, trace } from "@opentelemetry/api";
import { logs } from "@opentelemetry/api-logs";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { createApp } from "../../api/src/app.ts";
import { loadConfig } from "../../api/src/config/config.ts";
import type { Logger } from "../../api/src/core/log.ts";
import { nodeHostDeps } from "../../api/src/hosts/node-deps.ts";
import { LOCAL_REGISTRATION_BUDGET } from "../../api/src/services.ts";

const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const metricReader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});
const records = new InMemoryLogRecordExporter();

/** Every log line the server wrote, as the console logger would print it. */
const lines: Array<Record<string, unknown>> = [];
const capture =
  (level: string): Logger["info"] =>
  (msg, fields) =>
    void lines.push(JSON.parse(JSON.stringify({ level, msg, ...fields })));
const logger: Logger = { info: capture("info"), warn: capture("warn"), error: capture("error") };

describe("telemetry on a real sign-in and tool calls (proxy mode)", () => {
  let emulator: Emulator;
  let azurite: Azurite;
  let close: () => Promise<void>;
  let origin = "";
  const secrets: Record<string, string> = {};
  let graphAnswer: Record<string, unknown> = {};
  let clientId = "";
  let oid = "";
  /** The server's clock runs ahead of real time by this much (to get past the refresh retry window). */
  let skew = 0;

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
    );
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [metricReader] }));
    logs.setGlobalLoggerProvider(
      new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: records })] }),
    );

    emulator = await startEmulator({ port: 0 });
    azurite = await startAzurite();
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    emulator.apiApp.addRedirectUri(`${origin}/oauth/callback`);
    const env = emulator.serverEnv();
    // The managed-identity endpoint, as the platform (or `npm start`) sets it for the process.
    process.env.IDENTITY_ENDPOINT = env.IDENTITY_ENDPOINT;
    process.env.IDENTITY_HEADER = env.IDENTITY_HEADER;
    const config = loadConfig({
      ...env,
      AUTH_MODE: "proxy",
      PUBLIC_URL: origin,
      STORAGE_TABLE_ENDPOINT: azurite.tableEndpoint,
    });
    const app = createApp(config, { ...nodeHostDeps(config), logger, now: () => Date.now() + skew });
    const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" });
    await new Promise((r) => server.once("listening", r));
    assert.equal((server.address() as AddressInfo).port, port);
    close = async () => {
      await app.close();
      await new Promise((r) => server.close(r));
    };

    // The sign-in, as a dynamically registered client does it.
    const redirectUri = "http://127.0.0.1:53682/callback";
    const reg = await fetch(`${origin}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_name: "telemetry test",
        redirect_uris: [redirectUri],
        grant_types: ["authorization_code", "refresh_token"],
      }),
    });
    assert.equal(reg.status, 201);
    clientId = ((await reg.json()) as { client_id: string }).client_id;
    const { verifier, challenge } = pkce();
    const authorize = new URL(`${origin}/authorize`);
    authorize.search = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: "S256",
      scope: "user_impersonation offline_access",
      resource: `${origin}/api/mcp`,
      state: randomBytes(8).toString("hex"),
    }).toString();
    const adele = emulator.users.find((u) => u.consented) ?? emulator.users[0];
    oid = adele.oid;
    const { url } = await walkAuthorization(authorize.toString(), { user: adele.upn });
    const code = url.searchParams.get("code") ?? "";
    assert.ok(code, `no code in ${url}`);
    const token = async (form: Record<string, string>) => {
      const res = await fetch(`${origin}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ client_id: clientId, ...form }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    };
    const first = await token({
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
      resource: `${origin}/api/mcp`,
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    Object.assign(secrets, {
      code,
      verifier,
      access: first.body.access_token,
      refresh: first.body.refresh_token,
    });

    const call = async (accessToken: string, tool: string) => {
      const { headers, body } = toolCall(tool);
      return fetch(`${origin}/api/mcp`, {
        method: "POST",
        headers: { ...headers, authorization: `Bearer ${accessToken}` },
        body,
      });
    };
    assert.equal((await call(secrets.access, "whoami")).status, 200);
    const graph = await rpcResult(await call(secrets.access, "get_graph_user_details"));
    graphAnswer = (graph.result as { structuredContent: Record<string, unknown> }).structuredContent;
    assert.ok(graphAnswer, JSON.stringify(graph));
    assert.equal((await call(secrets.access, "get_graph_user_details")).status, 200);

    // Rotation, then a replay of the rotated refresh token: the grant is revoked.
    const second = await token({ grant_type: "refresh_token", refresh_token: secrets.refresh });
    assert.equal(second.status, 200);
    secrets.access2 = second.body.access_token;
    secrets.refresh2 = second.body.refresh_token;
    assert.equal((await call(secrets.access2, "whoami")).status, 200);
    // Past the retry window, presenting the rotated refresh token again is a replay.
    skew += 61_000;
    const replayed = await token({ grant_type: "refresh_token", refresh_token: secrets.refresh });
    assert.equal(replayed.status, 400);
    assert.equal(replayed.body.error, "invalid_grant");
    // The grant is gone: the access token no longer works.
    assert.equal((await call(secrets.access, "whoami")).status, 401);

    // Registrations past the per-address limit are refused (the local budget: this server is on loopback).
    let refused = 0;
    for (let i = 0; i <= 2 * LOCAL_REGISTRATION_BUDGET.perCaller[0].limit && !refused; i++) {
      const r = await fetch(`${origin}/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ client_name: "again", redirect_uris: [redirectUri] }),
      });
      await r.body?.cancel();
      if (r.status === 429) refused++;
    }
    assert.equal(refused, 1);
    await metricReader.forceFlush();
  });

  after(async () => {
    await close?.();
    await azurite?.stop();
    await emulator?.stop();
  });

  const finished = () => spans.getFinishedSpans();
  const byName = (name: string) => finished().filter((s) => s.name === name);
  const metricPoints = (name: string): Array<{ attributes: Record<string, unknown>; value: unknown }> =>
    (metricExporter.getMetrics().at(-1)?.scopeMetrics ?? [])
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === name)
      .flatMap((m) => m.dataPoints as Array<{ attributes: Record<string, unknown>; value: unknown }>);
  const sum = (name: string, attrs: Record<string, string> = {}) =>
    metricPoints(name)
      .filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
      .reduce((n, p) => n + (typeof p.value === "number" ? p.value : 0), 0);

  test("one trace per MCP request, with spans for the token check, storage, OBO and Graph", () => {
    const requests = byName("POST /api/mcp");
    assert.equal(requests.length, 5);
    assert.equal(new Set(requests.map((s) => s.spanContext().traceId)).size, 5, "a trace each");
    const inTrace = (root: ReadableSpan) =>
      finished().filter((s) => s.spanContext().traceId === root.spanContext().traceId);
    const graphCall = requests.find((r) => inTrace(r).some((s) => s.name === "entra.obo"));
    assert.ok(graphCall, "the first Graph call exchanges On-Behalf-Of inside its request's trace");
    const names = inTrace(graphCall).map((s) => s.name);
    for (const n of ["auth.verify_token", "storage.get", "mcp.tool get_graph_user_details", "graph.request"])
      assert.ok(names.includes(n), `${n} in ${names.join(", ")}`);
    const verify = inTrace(graphCall).find((s) => s.name === "auth.verify_token");
    assert.equal(verify?.parentSpanContext?.spanId, graphCall.spanContext().spanId);
  });

  test("one trace per OAuth endpoint request, named by its route", () => {
    for (const name of ["POST /register", "GET /authorize", "POST /authorize/consent", "GET /oauth/callback"])
      assert.ok(byName(name).length >= 1, `a ${name} span`);
    assert.equal(byName("POST /token").length, 3);
  });

  test("metrics: refusals by reason, the OBO cache, the replay, the rate limit", () => {
    assert.equal(sum("mcp.auth.refresh_replays"), 1);
    assert.equal(sum("mcp.auth.failures", { "mcp.auth.failure_reason": "invalid_grant" }), 1);
    assert.equal(
      sum("mcp.auth.failures", { "mcp.auth.failure_reason": "invalid_token", "mcp.auth.stage": "bearer" }),
      1,
    );
    assert.equal(sum("mcp.obo.cache", { "mcp.obo.cache_result": "miss" }), 1);
    assert.equal(sum("mcp.obo.cache", { "mcp.obo.cache_result": "hit" }), 1);
    assert.equal(sum("mcp.ratelimit.refusals", { "mcp.ratelimit.limiter": "register" }), 1);
    assert.equal(sum("mcp.tool.calls", { "mcp.tool.name": "whoami", "mcp.tool.outcome": "ok" }), 2);
  });

  test("an audit record per tool call: who, which client, which tool, outcome, duration", () => {
    const audits = records.getFinishedLogRecords().filter((r) => r.eventName === "mcp.tool.call");
    assert.equal(audits.length, 4);
    for (const a of audits) {
      assert.equal(a.attributes["enduser.id"], oid);
      assert.equal(a.attributes["mcp.client.id"], clientId);
      assert.equal(a.attributes["mcp.tool.outcome"], "ok");
      assert.equal(typeof a.attributes["mcp.tool.duration_ms"], "number");
    }
    const logged = lines.filter((l) => l.audit === "tool_call");
    assert.equal(logged.length, 4);
    assert.deepEqual(
      logged.map((l) => [l.tool, l.oid, l.client, l.outcome]),
      [
        ["whoami", oid, clientId, "ok"],
        ["get_graph_user_details", oid, clientId, "ok"],
        ["get_graph_user_details", oid, clientId, "ok"],
        ["whoami", oid, clientId, "ok"],
      ],
    );
  });

  test("one correlation id from the registration to the first MCP call", () => {
    const registered = lines.find((l) => l.msg === "client registered" && l.client === clientId);
    const cid = registered?.correlationId;
    assert.match(String(cid), /^[0-9a-f-]{36}$/);
    const flow = lines.filter((l) => l.correlationId === cid).map((l) => l.msg);
    for (const step of [
      "client registered",
      "authorize: consent page shown",
      "consent: approved, on to Entra ID",
      "grant created",
      "tool call",
    ])
      assert.ok(flow.includes(step), `"${step}" carries the correlation id: ${flow.join(" → ")}`);
    const replay = lines.find((l) => l.msg === "token refused" && l.refreshReplay === true);
    assert.equal(replay?.correlationId, cid);
  });

  test("no token, code, verifier or Graph content in any span, event, metric or record", () => {
    const exported = JSON.stringify({
      spans: finished().map((s) => ({
        name: s.name,
        attributes: s.attributes,
        events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
        status: s.status,
        resource: s.resource.attributes,
      })),
      metrics: metricExporter.getMetrics(),
      records: records.getFinishedLogRecords().map((r) => ({ body: r.body, attributes: r.attributes })),
    });
    assert.ok(exported.length > 1000, "there is telemetry to look through");
    for (const [what, value] of Object.entries(secrets)) {
      assert.ok(value && value.length >= 20, `${what} is a real value`);
      assert.ok(!exported.includes(value), `the ${what} appears in the telemetry`);
      assert.ok(!exported.includes(value.slice(0, 16)), `part of the ${what} appears in the telemetry`);
    }
    assert.doesNotMatch(exported, /eyJ[A-Za-z0-9_-]{10,}/, "a JWT in the telemetry");
    for (const [field, value] of Object.entries(graphAnswer)) {
      if (typeof value !== "string" || value.length < 4 || value === oid) continue;
      assert.ok(!exported.includes(value), `Graph's ${field} appears in the telemetry`);
    }
  });
});
