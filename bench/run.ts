/**
 * `npm run bench`: this server measured against three anchors in one run on this machine, printed as a
 * table with each figure's ratio to its anchor.
 *
 * Anchors: a raw Hono JSON echo, the bare v2 SDK handler (`createMcpHandler`, one tool, no auth), and the
 * same handler whose one tool makes the Graph call the Graph tool makes (`GET /me`, Node's fetch): the
 * difference between the two SDK anchors is what the Graph call itself costs a Node server.
 * Then this server, started as `npm start` starts it (`api/src/hosts/node.ts` in its own process, with
 * the Entra emulator, and Azurite in proxy mode), called with tokens from real sign-ins: `whoami` and
 * `get_graph_user_details` (warm OBO cache) in proxy and Entra-direct mode, refresh grants per second,
 * the legacy SSE round trip, RSS growth over a number of requests, the Functions bundle's size and its
 * cold start, and the OBO exchanges per user under concurrent Graph calls.
 *
 * The load comes from `bench/load.ts` (autocannon) in a process of its own; every server under test is a
 * process of its own too. The emulator runs in this process. Everything started here is stopped on the
 * way out, on failure, on SIGINT/SIGTERM, and at `BENCH_MAX_SECONDS` at the latest.
 *
 * @module
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { loginPublicClient } from "@entra-mcp/emulator/login";
import { CookieJar, registerClient, signInTokens } from "@entra-mcp/testing/authorization-server";
import { toolCall } from "@entra-mcp/testing/mcp-request";
import { loginThroughProxy } from "@entra-mcp/testing/proxy-login";
import { INITIALIZE, openStream, postMessage, request } from "@entra-mcp/testing/sse";
import {
  freePort,
  inheritedEnv,
  ROOT,
  type ServerProcess,
  type Stack,
  startServer,
  startStack,
} from "@entra-mcp/testing/stack";
import { ensureTrustedCa } from "@entra-mcp/testing/trust";
import { waitForHttp } from "@entra-mcp/testing/wait";
import { build } from "esbuild";
import type { AmountJob, Job, LoadResult, RefreshJob, RoundsJob, Target } from "./load.ts";
import { median, percentile } from "./stats.ts";

await ensureTrustedCa();

function knob(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not ${raw}`);
  return n;
}

/** Measured seconds per target, in BENCH_ROUNDS turns. */
const SECONDS = knob("BENCH_SECONDS", 6);
const ROUNDS = Math.max(1, Math.round(knob("BENCH_ROUNDS", 3)));
const WARMUP = knob("BENCH_WARMUP_SECONDS", 1);
const CONNECTIONS = Math.max(1, Math.round(knob("BENCH_CONNECTIONS", 16)));
const RSS_FROM = Math.round(knob("BENCH_RSS_FROM", 20_000));
const RSS_TO = Math.max(RSS_FROM, Math.round(knob("BENCH_RSS_TO", 100_000)));
const SSE_ROUNDS = Math.max(1, Math.round(knob("BENCH_SSE_ROUNDS", 200)));
const OBO_CALLS = Math.max(1, Math.round(knob("BENCH_OBO_CALLS", 16)));
const COLD_RUNS = Math.max(1, Math.round(knob("BENCH_COLD_RUNS", 3)));
const MAX_SECONDS = knob("BENCH_MAX_SECONDS", 600);
/** The longest any request-count phase (warm-up to RSS_FROM, top-up to RSS_TO) may take. */
const COUNT_PHASE_SECONDS = knob("BENCH_COUNT_PHASE_SECONDS", 120);

const run = promisify(execFile);

// ---- clean-up: every process and folder this run creates is registered here as it is created ----

const cleanups: Array<() => Promise<unknown>> = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const stop of cleanups.reverse()) await stop().catch(() => {});
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping everything the benchmark started`);
    void cleanUp().finally(() => process.exit(130));
  });
}
setTimeout(() => {
  console.error(`the benchmark ran for BENCH_MAX_SECONDS (${MAX_SECONDS} s): stopping`);
  void cleanUp().finally(() => process.exit(2));
}, MAX_SECONDS * 1000).unref();

function stopChild(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await gone;
    clearTimeout(timer);
  };
}

// ---- processes ----

/** Starts one anchor server (`bench/anchors/*.ts`) on a free port. */
async function startAnchor(
  script: string,
  env: Record<string, string> = {},
): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, script)], {
    cwd: ROOT,
    env: { ...inheritedEnv(), ...env, PORT: String(port) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const stop = stopChild(child);
  cleanups.push(stop);
  await waitForHttp(`http://127.0.0.1:${port}/`, 20_000, () => child.exitCode === null);
  return { url: `http://127.0.0.1:${port}`, stop };
}

/** Runs one job in the load generator's own process (bench/load.ts) and returns what it printed. */
async function load(job: Job): Promise<unknown> {
  const child = spawn(process.execPath, [path.join(ROOT, "bench/load.ts")], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  cleanups.push(stopChild(child));
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  const exited = once(child, "exit");
  child.stdin.end(JSON.stringify(job));
  const killer = setTimeout(() => child.kill("SIGKILL"), (job.maxSeconds + 10) * 1000);
  const [code] = (await exited) as [number | null];
  clearTimeout(killer);
  if (code !== 0) throw new Error(`the load generator exited with ${code} (a ${job.kind} job)`);
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
}

function checked(what: string, r: LoadResult): LoadResult {
  if (r.failed || !r.ok)
    throw new Error(`${what}: ${r.failed} failed requests, ${r.ok} answered (${r.failures})`);
  return r;
}

/** The targets measured in turns; every one must have answered every request. */
async function loadRounds(targets: Target[]): Promise<Record<string, LoadResult>> {
  const job: RoundsJob = {
    kind: "rounds",
    targets,
    connections: CONNECTIONS,
    warmupSeconds: WARMUP,
    rounds: ROUNDS,
    secondsPerRound: SECONDS / ROUNDS,
    maxSeconds: targets.length * (WARMUP + SECONDS + 5) + 30,
  };
  const results = (await load(job)) as Record<string, LoadResult>;
  for (const t of targets) checked(t.name, results[t.name] as LoadResult);
  return results;
}

/** The resident set size of a process, in bytes. */
async function rss(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {
    // no procfs: ask ps
  }
  const { stdout } = await run("ps", ["-o", "rss=", "-p", String(pid)]);
  return Number(stdout.trim()) * 1024;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---- requests ----

interface Caller {
  name: string;
  server: ServerProcess;
  token: string;
  /** What a `whoami` answer for this caller contains (the user's object id). */
  expect: string;
  /** Requests sent to this server so far (the RSS figures are per request count). */
  served: number;
}

function mcpRequest(caller: Caller, tool: string) {
  const { headers, body } = toolCall(tool);
  return { headers: { ...headers, authorization: `Bearer ${caller.token}` }, body };
}

/** One tool call, checked: 200, no tool error, and `expect` in the answer. */
async function callTool(caller: Caller, tool: string, expect: string): Promise<void> {
  const { headers, body } = mcpRequest(caller, tool);
  caller.served++;
  const res = await fetch(caller.server.mcpUrl, { method: "POST", headers, body });
  const text = await res.text();
  if (res.status !== 200 || /"isError":\s*true/.test(text) || !text.includes(expect))
    throw new Error(`${caller.name} ${tool}: unexpected answer ${res.status}: ${text.slice(0, 300)}`);
}

/** A tool call as a load target. */
function toolTarget(name: string, caller: Caller, tool: string): Target {
  return { name, url: caller.server.mcpUrl, method: "POST", ...mcpRequest(caller, tool) };
}

/** Sends `whoami` until the server has answered `target` requests in all (bounded in time too). */
async function serveUpTo(caller: Caller, target: number, expect: string): Promise<void> {
  const amount = target - caller.served;
  if (amount <= 0) return;
  const job: AmountJob = {
    kind: "amount",
    target: toolTarget("whoami", caller, "whoami"),
    connections: CONNECTIONS,
    amount,
    maxSeconds: COUNT_PHASE_SECONDS,
  };
  const r = (await load(job)) as LoadResult;
  caller.served += r.ok + r.failed;
  checked(`whoami up to ${target} requests`, r);
  await callTool(caller, "whoami", expect);
}

/** Concurrent Graph calls from each user on a server whose OBO cache is cold; OBO exchanges per user. */
async function oboPerUser(
  stack: Stack,
  users: Array<{ caller: Caller; oid: string; upn: string }>,
): Promise<number[]> {
  stack.emulator.resetCounts();
  const calls = Array.from({ length: OBO_CALLS }, () => users).flat();
  await withTimeout(
    Promise.all(calls.map((u) => callTool(u.caller, "get_graph_user_details", u.upn))),
    60_000,
    "the concurrent Graph calls",
  );
  const counts = stack.emulator.counts();
  return users.map((u) => counts[`token.obo.${u.oid}`] ?? 0);
}

/**
 * Round trips one at a time, taking turns: legacy SSE (POST /api/messages, then the answer's event on
 * the /api/sse stream), and the same call over Streamable HTTP on the same server.
 */
async function roundTrips(caller: Caller): Promise<{ sse: number[]; http: number[] }> {
  const fetchNet = (req: Request) => fetch(req);
  const deadline = performance.now() + 30_000;
  const stream = await openStream(fetchNet, caller.server.url, caller.token);
  const sse: number[] = [];
  const http: number[] = [];
  const { headers, body } = mcpRequest(caller, "whoami");
  try {
    const init = request("initialize", INITIALIZE);
    const posted = await postMessage(fetchNet, stream.messageUrl, caller.token, init);
    await posted.body?.cancel();
    if ((await stream.events.message(10_000)).id !== init.id) throw new Error("no initialize answer");
    const done = await postMessage(fetchNet, stream.messageUrl, caller.token, {
      method: "notifications/initialized",
    });
    await done.body?.cancel();
    for (let i = 0; i < SSE_ROUNDS && performance.now() < deadline; i++) {
      const call = request("tools/call", { name: "whoami", arguments: {} });
      let start = performance.now();
      const res = await postMessage(fetchNet, stream.messageUrl, caller.token, call, {
        "mcp-protocol-version": "2024-11-05",
      });
      await res.body?.cancel();
      if (res.status !== 202) throw new Error(`POST /api/messages answered ${res.status}`);
      const answer = await stream.events.message(10_000);
      sse.push(performance.now() - start);
      if (answer.id !== call.id) throw new Error(`the stream answered ${answer.id}, not ${call.id}`);

      start = performance.now();
      const direct = await fetch(caller.server.mcpUrl, { method: "POST", headers, body });
      const text = await direct.text();
      http.push(performance.now() - start);
      if (direct.status !== 200 || !text.includes(caller.expect))
        throw new Error(`POST /api/mcp answered ${direct.status}: ${text.slice(0, 300)}`);
    }
  } finally {
    stream.abort();
    await stream.events.close();
    caller.served += 2 + sse.length * 2;
  }
  return { sse: sse.sort((a, b) => a - b), http: http.sort((a, b) => a - b) };
}

/** Progress, on stderr (the table goes to stdout). */
const t0 = performance.now();
function step(what: string): void {
  console.error(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${what}`);
}

// ---- the table ----

interface Row {
  measurement: string;
  result: string;
  anchor: string;
  ratio: string;
}

const rows: Row[] = [];
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)} ms`;
const times = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const load3 = (r: LoadResult, unit = "req/s") => `${int(r.rps)} ${unit}, p50 ${ms(r.p50)}, p99 ${ms(r.p99)}`;

function printTable(): void {
  const header: Row = {
    measurement: "measurement",
    result: "result",
    anchor: "anchor",
    ratio: "ratio to anchor",
  };
  const all = [header, ...rows];
  const width = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const line = (r: Row) =>
    `| ${(["measurement", "result", "anchor", "ratio"] as const).map((k) => r[k].padEnd(width(k))).join(" | ")} |`;
  console.log(line(header));
  console.log(
    `| ${(["measurement", "result", "anchor", "ratio"] as const).map((k) => "-".repeat(width(k))).join(" | ")} |`,
  );
  for (const r of rows) console.log(line(r));
}

// ---- the run ----

async function main(): Promise<void> {
  const cores = availableParallelism();
  console.log(
    `npm run bench: ${CONNECTIONS} connections, ${SECONDS} s per target in ${ROUNDS} turns after ${WARMUP} s ` +
      `of warm-up, Node ${process.version}, ${cores} CPU${cores === 1 ? "" : "s"}.`,
  );
  console.log(
    `The load generator (autocannon, its own process), the server under test (its own process) and the ` +
      `Entra/Graph emulator (this process) share ${cores === 1 ? "that CPU" : `these ${cores} CPUs`}.\n`,
  );

  // The stack: emulator, Azurite and the server in proxy mode; a second server in Entra-direct mode.
  step("starting the emulator, Azurite and the server in proxy and in Entra-direct mode");
  const stack = await startStack({ authMode: "proxy", quiet: true });
  cleanups.push(() => stack.stop());
  const emulator = stack.emulator;
  const [adele, alex] = emulator.users;
  // Alex has not consented to the server's Graph permission in the seeded tenant; the OBO count needs two users.
  emulator.grantConsent(alex.oid, emulator.apiApp.clientId);
  const entraPort = await freePort();
  const entraEnv = { ...stack.env };
  delete entraEnv.STORAGE_TABLE_ENDPOINT;
  const entraServer = await startServer(
    { ...entraEnv, AUTH_MODE: "entra", PUBLIC_URL: `http://127.0.0.1:${entraPort}` },
    { port: entraPort, quiet: true },
  );
  cleanups.push(() => entraServer.stop());

  // Telemetry's cost: the same proxy-mode server with the OpenTelemetry SDK on, exporting over OTLP to a
  // sink in this process that accepts everything (and counts the exports).
  const exports = { traces: 0, metrics: 0, logs: 0 };
  const sink = createServer((req, res) => {
    const kind = req.url?.split("/").at(-1) as keyof typeof exports;
    if (kind in exports) exports[kind]++;
    req.resume().on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise((r) => sink.close(r)));
  const otelPort = await freePort();
  const otelUrl = `http://127.0.0.1:${otelPort}`;
  emulator.apiApp.addRedirectUri(`${otelUrl}/oauth/callback`);
  const otelServer = await startServer(
    {
      ...stack.env,
      PUBLIC_URL: otelUrl,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
      OTEL_METRIC_EXPORT_INTERVAL: "5000",
    },
    { port: otelPort, quiet: true },
  );
  cleanups.push(() => otelServer.stop());

  step("signing Adele and Alex in");
  // Tokens from real sign-ins: through the server's own authorization server (proxy), and from the
  // emulator as a public client (Entra-direct).
  const proxyLogin = async (upn: string) =>
    (await loginThroughProxy({ mcpUrl: stack.server.mcpUrl, user: upn, clientName: "npm run bench" }))
      .access_token;
  const entraLogin = async (upn: string) =>
    (
      await loginPublicClient({
        authorityHost: emulator.authorityHost,
        tenantId: emulator.tenantId,
        clientId: emulator.publicClient.clientId,
        scope: `${emulator.apiApp.appIdUri}/${emulator.apiApp.scope}`,
        user: upn,
      })
    ).access_token;
  const caller = (name: string, server: ServerProcess, token: string, oid: string): Caller => ({
    name,
    server,
    token,
    expect: oid,
    served: 0,
  });
  const proxy = caller("proxy mode", stack.server, await proxyLogin(adele.upn), adele.oid);
  const proxyAlex = caller("proxy mode", stack.server, await proxyLogin(alex.upn), alex.oid);
  const entra = caller("Entra-direct mode", entraServer, await entraLogin(adele.upn), adele.oid);
  const entraAlex = caller("Entra-direct mode", entraServer, await entraLogin(alex.upn), alex.oid);
  const otelLogin = await loginThroughProxy({
    mcpUrl: otelServer.mcpUrl,
    user: adele.upn,
    clientName: "npm run bench",
  });
  const otel = caller("proxy mode, telemetry on", otelServer, otelLogin.access_token, adele.oid);

  step(`${OBO_CALLS} concurrent Graph calls per user, OBO caches cold`);
  // OBO exchanges per user, first, while both servers' OBO caches are cold.
  const users = (a: Caller, b: Caller) => [
    { caller: a, oid: adele.oid, upn: adele.upn },
    { caller: b, oid: alex.oid, upn: alex.upn },
  ];
  const oboProxy = await oboPerUser(stack, users(proxy, proxyAlex));
  const oboEntra = await oboPerUser(stack, users(entra, entraAlex));
  // One process, two callers: the RSS figures count every request the proxy-mode server answered.
  proxy.served += proxyAlex.served;

  step("starting the anchors: a raw Hono JSON echo, the bare SDK handler, and the same with the Graph call");
  const echoServer = await startAnchor("bench/anchors/hono-echo.ts");
  const sdkServer = await startAnchor("bench/anchors/sdk-server.ts");
  const sdkGraphServer = await startAnchor("bench/anchors/sdk-graph-server.ts", {
    GRAPH_URL: emulator.graphBaseUrl,
    GRAPH_TOKEN: await emulator.mintGraphToken(),
  });
  const whoami = toolCall("whoami");
  const echoTarget: Target = {
    name: "echo",
    url: `${echoServer.url}/echo`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: whoami.body,
  };
  const sdkTarget: Target = { name: "sdk", url: `${sdkServer.url}/api/mcp`, method: "POST", ...whoami };
  const sdkGraphTarget: Target = {
    name: "sdk graph",
    url: `${sdkGraphServer.url}/api/mcp`,
    method: "POST",
    ...toolCall("get_graph_user_details"),
  };
  const anchorsAnswer = async () => {
    for (const t of [echoTarget, sdkTarget, sdkGraphTarget]) {
      const res = await fetch(t.url, { method: t.method, headers: t.headers, body: t.body });
      const text = await res.text();
      // The echo repeats the request; the SDK anchor's tool answers with its fixed principal; the Graph
      // anchor's with Adele's profile.
      const expect = t === echoTarget ? "tools/call" : t === sdkTarget ? "objectId" : adele.upn;
      if (res.status !== 200 || !text.includes(expect))
        throw new Error(`the ${t.name} anchor answered ${res.status}: ${text.slice(0, 300)}`);
    }
  };
  await anchorsAnswer();

  // Proxy mode first serves RSS_FROM requests (its RSS is read then), then everything is measured
  // taking turns, then proxy mode serves up to RSS_TO requests (and its RSS is read again).
  step(`proxy mode: whoami up to ${int(RSS_FROM)} requests`);
  await serveUpTo(proxy, RSS_FROM, adele.oid);
  const rssFrom = { requests: proxy.served, bytes: await rss(stack.server.child.pid ?? 0) };

  const checks = async () => {
    await anchorsAnswer();
    for (const c of [proxy, entra, otel]) {
      await callTool(c, "whoami", c.expect);
      await callTool(c, "get_graph_user_details", adele.upn);
    }
  };
  await checks(); // also warms both OBO caches for Adele
  step(
    `measuring, ${ROUNDS} turns of ${(SECONDS / ROUNDS).toFixed(1)} s each: the anchors, then whoami and ` +
      "get_graph_user_details in proxy and Entra-direct mode",
  );
  const measured = await loadRounds([
    echoTarget,
    sdkTarget,
    sdkGraphTarget,
    toolTarget("proxy whoami", proxy, "whoami"),
    toolTarget("proxy graph", proxy, "get_graph_user_details"),
    toolTarget("entra whoami", entra, "whoami"),
    toolTarget("entra graph", entra, "get_graph_user_details"),
    toolTarget("otel whoami", otel, "whoami"),
    toolTarget("otel graph", otel, "get_graph_user_details"),
  ]);
  for (const [name, r] of Object.entries(measured)) {
    const c = name.startsWith("proxy") ? proxy : name.startsWith("entra") ? entra : undefined;
    if (c) c.served += r.warmup + r.ok + r.failed;
  }
  await checks();
  await echoServer.stop();
  await sdkServer.stop();
  await sdkGraphServer.stop();
  await entraServer.stop();
  await otelServer.stop(); // flushes what it buffered
  const otelWhoami = measured["otel whoami"];
  const otelGraph = measured["otel graph"];
  const echo = measured.echo;
  const sdk = measured.sdk;
  const sdkGraph = measured["sdk graph"];
  const proxyWhoami = measured["proxy whoami"];
  const proxyGraph = measured["proxy graph"];
  const entraWhoami = measured["entra whoami"];
  const entraGraph = measured["entra graph"];

  step(`proxy mode: whoami up to ${int(RSS_TO)} requests`);
  await serveUpTo(proxy, RSS_TO, adele.oid);
  const rssTo = { requests: proxy.served, bytes: await rss(stack.server.child.pid ?? 0) };

  // Token issuance: refresh grants, one chain per connection, each from its own sign-in with a client of
  // its own (signing in again with the same client would replace that client's earlier grant).
  step("token issuance: refresh grants");
  const jar = new CookieJar();
  const chains = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const client = await registerClient(stack, { client_name: `npm run bench ${i + 1}` });
    const tokens = await signInTokens(stack, client, { jar });
    chains.push({ clientId: client.client_id, refreshToken: tokens.refresh_token });
  }
  const refreshJob: RefreshJob = {
    kind: "refresh",
    url: `${stack.server.url}/token`,
    resource: stack.server.mcpUrl,
    chains,
    warmupSeconds: WARMUP,
    seconds: SECONDS,
    maxSeconds: WARMUP + SECONDS + 30,
  };
  const refresh = checked("refresh grants", (await load(refreshJob)) as LoadResult);

  // The legacy SSE round trip, and the same call over Streamable HTTP, one at a time.
  step("legacy SSE round trips");
  const trips = await roundTrips(proxy);
  await stack.server.stop();

  // The Functions bundle, built as `npm run build` builds it, and the bare SDK anchor bundled the same way.
  step("bundles and cold starts");
  const dir = await mkdtemp(path.join(tmpdir(), "bench-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const apiBundle = path.join(dir, "api", "main.js");
  const built = await run(
    process.execPath,
    [path.join(ROOT, "scripts/build.ts"), "--outdir", path.dirname(apiBundle)],
    { cwd: ROOT, timeout: 120_000 },
  );
  // main.js loads the app from chunks on the first request; the telemetry SDKs are chunks loaded only
  // when telemetry is configured. The build prints both sums.
  const builtBytes = (label: string) => {
    const m = new RegExp(`^${label}: (\\d+) bytes`, "m").exec(built.stdout);
    if (!m) throw new Error(`npm run build printed no "${label}" line:\n${built.stdout}`);
    return Number(m[1]);
  };
  const startBytes = builtBytes("loaded at start");
  const telemetryBytes = builtBytes("loaded only with telemetry");
  const anchorBundle = path.join(dir, "anchor", "main.js");
  await build({
    absWorkingDir: ROOT,
    entryPoints: ["bench/anchors/sdk-app.ts"],
    outfile: anchorBundle,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    banner: {
      js: 'import { createRequire as __createRequire } from "node:module";const require = __createRequire(import.meta.url);',
    },
    minify: true,
    legalComments: "eof",
    logLevel: "warning",
  });
  const anchorBytes = (await stat(anchorBundle)).size;

  // Cold starts: the bundle under the Functions worker stand-in (import, then the first authenticated
  // `whoami`, which fetches the signing keys), and the anchor's bundle (import, then its first answer).
  const coldRequest = JSON.stringify([
    {
      method: "POST",
      path: "/api/mcp",
      headers: { ...whoami.headers, authorization: `Bearer ${entra.token}` },
      body: whoami.body,
    },
  ]);
  const coldApi: number[] = [];
  const coldAnchor: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const { stdout } = await run(
      process.execPath,
      [path.join(ROOT, "testing/bundle-harness.ts"), apiBundle, coldRequest],
      {
        cwd: ROOT,
        env: {
          ...inheritedEnv(),
          ...emulator.serverEnv(),
          AUTH_MODE: "entra",
          PUBLIC_URL: "https://func-bench.azurewebsites.net",
        },
        timeout: 60_000,
      },
    );
    const out = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
      loadMs: number;
      responses: Array<{ status: number; body: string; ms: number }>;
    };
    const first = out.responses[0];
    if (first?.status !== 200 || !first.body.includes(adele.oid))
      throw new Error(`the bundle's first answer was ${first?.status}: ${first?.body.slice(0, 300)}`);
    coldApi.push(out.loadMs + first.ms);
    const anchor = await run(
      process.execPath,
      [path.join(ROOT, "bench/anchors/sdk-cold-start.ts"), anchorBundle],
      {
        cwd: ROOT,
        timeout: 60_000,
      },
    );
    const a = JSON.parse(anchor.stdout.trim().split("\n").at(-1) ?? "{}") as {
      loadMs: number;
      firstAnswerMs: number;
    };
    coldAnchor.push(a.loadMs + a.firstAnswerMs);
  }
  await stack.stop();

  // ---- the rows ----
  const vsSdk = (r: LoadResult) => `${times(r.rps, sdk.rps)} req/s, ${times(r.p99, sdk.p99)} p99`;
  // Time per call at this load (1 / throughput). A Graph tool call should cost whoami plus the Graph call
  // it makes (the Graph SDK anchor's time minus the bare SDK anchor's), and little more.
  const usPer = (r: LoadResult) => 1e6 / r.rps;
  const graphCallUs = usPer(sdkGraph) - usPer(sdk);
  const graphAnchor = `bare SDK with the Graph call: ${int(sdkGraph.rps)} req/s, so the Graph call costs ${int(graphCallUs)} µs`;
  const vsParts = (tool: LoadResult, whoami: LoadResult) =>
    `${int(usPer(tool))} µs per call vs whoami + Graph call ${int(usPer(whoami))} + ${int(graphCallUs)} µs: ${times(usPer(tool), usPer(whoami) + graphCallUs)}`;
  const sdkAnchor = `bare SDK: ${int(sdk.rps)} req/s, p99 ${ms(sdk.p99)}`;
  rows.push(
    {
      measurement: "raw Hono JSON echo (anchor)",
      result: load3(echo),
      anchor: sdkAnchor,
      ratio: vsSdk(echo),
    },
    {
      measurement: "bare SDK createMcpHandler, one tool, no auth (anchor)",
      result: load3(sdk),
      anchor: sdkAnchor,
      ratio: vsSdk(sdk),
    },
    {
      measurement: "bare SDK createMcpHandler, one tool making the Graph call (anchor)",
      result: load3(sdkGraph),
      anchor: sdkAnchor,
      ratio: vsSdk(sdkGraph),
    },
    {
      measurement: "proxy mode: whoami",
      result: load3(proxyWhoami),
      anchor: sdkAnchor,
      ratio: vsSdk(proxyWhoami),
    },
    {
      measurement: "proxy mode: get_graph_user_details, warm OBO cache",
      result: load3(proxyGraph),
      anchor: graphAnchor,
      ratio: vsParts(proxyGraph, proxyWhoami),
    },
    {
      measurement: "Entra-direct mode: whoami",
      result: load3(entraWhoami),
      anchor: sdkAnchor,
      ratio: vsSdk(entraWhoami),
    },
    {
      measurement: "Entra-direct mode: get_graph_user_details, warm OBO cache",
      result: load3(entraGraph),
      anchor: graphAnchor,
      ratio: vsParts(entraGraph, entraWhoami),
    },
    {
      measurement: "proxy mode, OpenTelemetry on (OTLP): whoami",
      result: load3(otelWhoami),
      anchor: `telemetry off: ${int(proxyWhoami.rps)} req/s, p99 ${ms(proxyWhoami.p99)}`,
      ratio: `${times(otelWhoami.rps, proxyWhoami.rps)} req/s, ${times(otelWhoami.p99, proxyWhoami.p99)} p99 (${exports.traces} trace, ${exports.metrics} metric, ${exports.logs} log exports)`,
    },
    {
      measurement: "proxy mode, OpenTelemetry on (OTLP): get_graph_user_details, warm OBO cache",
      result: load3(otelGraph),
      anchor: `telemetry off: ${int(proxyGraph.rps)} req/s, p99 ${ms(proxyGraph.p99)}`,
      ratio: `${times(otelGraph.rps, proxyGraph.rps)} req/s, ${times(otelGraph.p99, proxyGraph.p99)} p99`,
    },
    {
      measurement: "token issuance: refresh grants (proxy mode)",
      result: load3(refresh, "grants/s"),
      anchor: sdkAnchor,
      ratio: vsSdk(refresh),
    },
    {
      measurement: "legacy SSE round trip: POST /api/messages → event on /api/sse",
      result: `p50 ${ms(percentile(trips.sse, 50))}, p99 ${ms(percentile(trips.sse, 99))} (${trips.sse.length} calls, one at a time)`,
      anchor: `Streamable HTTP, same call and server: p50 ${ms(percentile(trips.http, 50))}, p99 ${ms(percentile(trips.http, 99))}`,
      ratio: `${times(percentile(trips.sse, 50), percentile(trips.http, 50))} p50, ${times(percentile(trips.sse, 99), percentile(trips.http, 99))} p99`,
    },
    {
      measurement: `RSS growth, ${int(rssFrom.requests)} → ${int(rssTo.requests)} requests (proxy mode)`,
      result: `${rssTo.bytes >= rssFrom.bytes ? "+" : "−"}${mib(Math.abs(rssTo.bytes - rssFrom.bytes))} (${mib(rssFrom.bytes)} → ${mib(rssTo.bytes)})`,
      anchor: `RSS after ${int(rssFrom.requests)} requests: ${mib(rssFrom.bytes)}`,
      ratio: times(rssTo.bytes, rssFrom.bytes),
    },
    {
      measurement: "Functions bundle size (npm run build: main.js and the chunks a start loads)",
      result: `${mib(startBytes)} (+ ${mib(telemetryBytes)} loaded only with telemetry on)`,
      anchor: `bare SDK + Hono bundled the same way: ${mib(anchorBytes)}`,
      ratio: times(startBytes, anchorBytes),
    },
    {
      measurement: "Functions cold start: bundle import → first authenticated answer",
      result: `${ms(median(coldApi))} (median of ${coldApi.length})`,
      anchor: `bare SDK bundle, import → first answer: ${ms(median(coldAnchor))}`,
      ratio: times(median(coldApi), median(coldAnchor)),
    },
    {
      measurement: `OBO exchanges per user, ${OBO_CALLS} concurrent Graph calls × 2 users (proxy mode)`,
      result: `Adele ${oboProxy[0]}, Alex ${oboProxy[1]}`,
      anchor: "at most 1 per user per Graph-token lifetime",
      ratio: times(Math.max(...oboProxy), 1),
    },
    {
      measurement: `OBO exchanges per user, ${OBO_CALLS} concurrent Graph calls × 2 users (Entra-direct mode)`,
      result: `Adele ${oboEntra[0]}, Alex ${oboEntra[1]}`,
      anchor: "at most 1 per user per Graph-token lifetime",
      ratio: times(Math.max(...oboEntra), 1),
    },
  );
  printTable();
  console.log(`\nfinished in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`\nnpm run bench failed: ${(err as Error).stack ?? err}`);
} finally {
  await cleanUp();
}
process.exit(failed ? 1 : 0);
