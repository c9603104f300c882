/**
 * The load generator, in a process of its own so that it never shares an event loop with a server
 * under test: `node bench/load.ts` reads one job as JSON on stdin and prints one JSON line of results.
 *
 * - `fixed`: the same request over and over with autocannon (keep-alive, `connections` at a time), for
 *   `seconds` or for `amount` requests; `warmupSeconds` first, unmeasured.
 * - `refresh`: refresh-token grants, one chain per connection: each answer's rotated refresh token is
 *   the next request's (a fixed request would replay a used token, which revokes the grant).
 *
 * Every job also stops at `maxSeconds`, whatever it was asked.
 *
 * @module
 */
import autocannon from "autocannon";
import { exitWithParent, readJsonStdin } from "./child.ts";
import { percentile } from "./stats.ts";

export interface FixedJob {
  kind: "fixed";
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  connections: number;
  warmupSeconds?: number;
  /** Either a duration… */
  seconds?: number;
  /** …or a number of requests. */
  amount?: number;
  maxSeconds: number;
}

export interface RefreshJob {
  kind: "refresh";
  /** The token endpoint. */
  url: string;
  resource: string;
  /** One chain per connection: a client id and its current refresh token. */
  chains: Array<{ clientId: string; refreshToken: string }>;
  warmupSeconds?: number;
  seconds: number;
  maxSeconds: number;
}

export interface LoadResult {
  /** Requests answered during the warm-up (fixed jobs). */
  warmup?: number;
  /** Answers with a 2xx status in the measured part. */
  ok: number;
  /** Answers with any other status, and connection errors (timeouts included). */
  failed: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** What the failures were, for the report. */
  failures?: string;
}

exitWithParent();
const job = await readJsonStdin<FixedJob | RefreshJob>();
const hardStop = setTimeout(() => {
  console.error(`load generator: stopped after ${job.maxSeconds} s`);
  process.exit(3);
}, job.maxSeconds * 1000);
hardStop.unref();

const result = job.kind === "fixed" ? await fixed(job) : await refresh(job);
console.log(JSON.stringify(result));
process.exit(0);

async function fixed(j: FixedJob): Promise<LoadResult> {
  const base = {
    url: j.url,
    method: j.method,
    headers: j.headers,
    body: j.body,
    connections: j.connections,
    pipelining: 1,
  };
  const warm = j.warmupSeconds ? await cannon({ ...base, duration: j.warmupSeconds }) : undefined;
  const latencies: number[] = [];
  const r = await cannon(
    j.amount ? { ...base, amount: j.amount } : { ...base, duration: j.seconds ?? 1 },
    latencies,
  );
  const failed = r.non2xx + r.errors;
  latencies.sort((a, b) => a - b);
  return {
    warmup: warm ? warm["2xx"] + warm.non2xx : 0,
    ok: r["2xx"],
    failed,
    seconds: r.duration,
    rps: r["2xx"] / r.duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    ...(failed ? { failures: `${r.non2xx} non-2xx answers, ${r.errors} connection errors` } : {}),
  };
}

/**
 * One autocannon run. Its own latency figures are whole milliseconds (an integer histogram); the
 * response times of the 2xx answers go into `latencies` instead, as measured (fractions of a ms).
 */
function cannon(opts: autocannon.Options, latencies?: number[]): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, r) => (err ? reject(err) : resolve(r)));
    if (latencies)
      instance.on("response", (_client, status, _bytes, ms) => {
        if (status >= 200 && status < 300) latencies.push(ms);
      });
    // An `amount` run that cannot finish in time still ends, with what it has done.
    const stop = setTimeout(() => instance.stop(), (job.maxSeconds - 1) * 1000);
    instance.on("done", () => clearTimeout(stop));
  });
}

async function refresh(j: RefreshJob): Promise<LoadResult> {
  const latencies: number[] = [];
  const failures: string[] = [];
  const started = performance.now();
  const warmEnd = started + (j.warmupSeconds ?? 0) * 1000;
  const end = warmEnd + j.seconds * 1000;
  await Promise.all(
    j.chains.map(async (chain) => {
      let token = chain.refreshToken;
      while (performance.now() < end) {
        const t0 = performance.now();
        const res = await fetch(j.url, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "refresh_token",
            client_id: chain.clientId,
            refresh_token: token,
            resource: j.resource,
          }),
        });
        const answer = (await res.json()) as {
          refresh_token?: string;
          access_token?: string;
          error?: string;
        };
        const ms = performance.now() - t0;
        const counted = t0 >= warmEnd;
        if (!res.ok || !answer.refresh_token || !answer.access_token) {
          if (counted) failures.push(`${res.status} ${answer.error ?? ""}`.trim());
          return; // the chain is broken: a retry would replay a used token
        }
        token = answer.refresh_token;
        if (counted) latencies.push(ms);
      }
    }),
  );
  const seconds = (performance.now() - warmEnd) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    ok: sorted.length,
    failed: failures.length,
    seconds,
    rps: sorted.length / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    ...(failures.length ? { failures: [...new Set(failures)].join(", ") } : {}),
  };
}
