// `npm run bench` end to end with tiny durations and counts: it prints every row of its table with
// numbers in it, and it stops every process it started, also when it is stopped half-way. Behaviour only:
// no figure is compared with any other.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { after, describe, test } from "node:test";
import { inheritedEnv, ROOT } from "@entra-mcp/testing/stack";
import { eventually } from "@entra-mcp/testing/wait";

const TINY = {
  BENCH_SECONDS: "1",
  BENCH_ROUNDS: "1",
  BENCH_WARMUP_SECONDS: "0",
  BENCH_CONNECTIONS: "2",
  BENCH_RSS_FROM: "50",
  BENCH_RSS_TO: "100",
  BENCH_SSE_ROUNDS: "3",
  BENCH_OBO_CALLS: "3",
  BENCH_COLD_RUNS: "1",
  BENCH_MAX_SECONDS: "150",
};

const started: ChildProcess[] = [];
after(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
});

function bench(): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, ["bench/run.ts"], {
    cwd: ROOT,
    env: { ...inheritedEnv(), ...TINY },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (c: string) => {
    out += c;
  });
  child.stderr?.setEncoding("utf8").on("data", (c: string) => {
    err += c;
  });
  return { child, stdout: () => out, stderr: () => err };
}

/** Every process below `pid` (children, their children, …), with its command line, from `ps`. */
function descendants(pid: number): Array<{ pid: number; args: string }> {
  const table = execFileSync("ps", ["-e", "-o", "pid=,ppid=,args="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => {
      const [p, pp, ...args] = l.trim().split(/\s+/);
      return { pid: Number(p), ppid: Number(pp), args: args.join(" ") };
    });
  const found: Array<{ pid: number; args: string }> = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift();
    for (const row of table) {
      if (row.ppid === parent) {
        found.push({ pid: row.pid, args: row.args });
        queue.push(row.pid);
      }
    }
  }
  return found;
}

/** Running (a zombie waiting for a parent to reap it is not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return execFileSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).trim()[0] !== "Z";
  } catch {
    return false;
  }
}

/** The table's data rows as cells, by measurement. */
function rowsOf(stdout: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("| ") || line.startsWith("| measurement") || line.startsWith("| ---")) continue;
    const cells = line
      .slice(1, -1)
      .split(" | ")
      .map((c) => c.trim());
    rows.set(cells[0], cells);
  }
  return rows;
}

const THROUGHPUT = /^[\d,]+ (req|grants)\/s, p50 \d+(\.\d+)? ms, p99 \d+(\.\d+)? ms$/;
const RATIO = /\d+\.\d\d×/;

describe("npm run bench", () => {
  test("prints every row of the table, each with numbers and a ratio to its anchor", async () => {
    const run = bench();
    const [code] = await once(run.child, "exit");
    assert.equal(code, 0, `${run.stdout()}\n${run.stderr()}`);
    const out = run.stdout();
    assert.match(out, /share these \d+ CPUs|share that CPU/);

    const rows = rowsOf(out);
    const row = (prefix: string) => {
      const found = [...rows].filter(([m]) => m.startsWith(prefix));
      assert.equal(found.length, 1, `one row starting "${prefix}" in:\n${out}`);
      const [, result, anchor, ratio] = found[0][1];
      assert.match(ratio, RATIO, `${prefix}: ratio`);
      assert.match(anchor, /\d/, `${prefix}: anchor`);
      return result;
    };
    for (const prefix of [
      "raw Hono JSON echo (anchor)",
      "bare SDK createMcpHandler, one tool, no auth (anchor)",
      "bare SDK createMcpHandler, one tool making the Graph call (anchor)",
      "proxy mode: whoami",
      "proxy mode: get_graph_user_details, warm OBO cache",
      "Entra-direct mode: whoami",
      "Entra-direct mode: get_graph_user_details, warm OBO cache",
      "proxy mode, OpenTelemetry on (OTLP): whoami",
      "proxy mode, OpenTelemetry on (OTLP): get_graph_user_details, warm OBO cache",
      "token issuance: refresh grants (proxy mode)",
    ])
      assert.match(row(prefix), THROUGHPUT, prefix);
    assert.match(row("legacy SSE round trip"), /^p50 [\d.]+ ms, p99 [\d.]+ ms \(3 calls, one at a time\)$/);
    assert.match(row("RSS growth, "), /^[+−][\d.]+ MiB \([\d.]+ MiB → [\d.]+ MiB\)$/);
    assert.match(
      row("Functions bundle size"),
      /^[\d.]+ MiB \(\+ [\d.]+ MiB loaded only with telemetry on\)$/,
    );
    assert.match(row("Functions cold start"), /^[\d.]+ ms \(median of 1\)$/);
    for (const mode of ["proxy mode", "Entra-direct mode"])
      assert.match(
        row(`OBO exchanges per user, 3 concurrent Graph calls × 2 users (${mode})`),
        /^Adele \d+, Alex \d+$/,
      );
    assert.equal(rows.size, 16, out);
  });

  test("stopped half-way, it stops every process it started", async () => {
    const run = bench();
    const pid = run.child.pid ?? 0;
    // Stopped while the load generator runs: then the servers, Azurite and the anchors run too (the
    // emulator runs in the benchmark's own process).
    let children: Array<{ pid: number; args: string }> = [];
    await eventually(
      () => {
        children = descendants(pid);
        return children.some((c) => c.args.includes("bench/load.ts"));
      },
      "the load generator to start",
      60_000,
    );
    for (const part of [
      "api/src/hosts/node.ts",
      "azurite",
      "bench/anchors/sdk-server.ts",
      "bench/anchors/sdk-graph-server.ts",
      "bench/anchors/hono-echo.ts",
    ])
      assert.ok(
        children.some((c) => c.args.includes(part)),
        `${part} among ${children.map((c) => c.args).join("\n")}`,
      );
    const exited = once(run.child, "exit");
    run.child.kill("SIGTERM");
    const [code] = await exited;
    assert.notEqual(code, 0);
    await eventually(
      () => children.every((c) => !alive(c.pid)),
      `every process to end: ${children.map((c) => c.args).join("\n")}`,
      10_000,
    );
  });
});
