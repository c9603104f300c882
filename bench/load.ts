/**
 * The load generator, in a process of its own so that it never shares an event loop with a server
 * under test: `node bench/load.ts` reads one job as JSON on stdin and prints one JSON line of results.
 *
 * - `rounds`: several targets measured with autocannon (keep-alive, `connections` at a time), taking
 *   turns: every target gets `warmupSeconds` unmeasured, then `rounds` turns of `secondsPerRound`, so
 *   that whatever else the machine is doing meanwhile falls on all targets alike.
 * - `amount`: one target until it has answered `amount` requests.
 * - `refresh`: refresh-token grants, one chain per connection: each answer's rotated refresh token is
 *   the next request's (a fixed request would replay a used token, which revokes the grant).
 *
 * Every job also stops at `maxSeconds`, whatever it was asked.
 *
 * @module
 */
import http from "node:http";
import autocannon from "autocannon";
import { exitWithParent, readJsonStdin } from "./child.ts";
import { percentile } from "./stats.ts";

/** Token requests one caller address sends before the next takes over (the server allows 120 a minute per caller). */
const REQUESTS_PER_CALLER = 100;

export interface Target {
  name: string;
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
}

export interface RoundsJob {
  kind: "rounds";
  targets: Target[];
  connections: number;
  warmupSeconds: number;
  rounds: number;
  secondsPerRound: number;
  maxSeconds: number;
}

export interface AmountJob {
  kind: "amount";
  target: Target;
  connections: number;
  amount: number;
  maxSeconds: number;
}

export interface RefreshJob {
  kind: "refresh";
  /** The token endpoint. */
  url: string;
  resource: string;
  /** One chain per connection: a client id and its current refresh token. */
  chains: Array<{ clientId: string; refreshToken: string }>;
  warmupSeconds: number;
  seconds: number;
  maxSeconds: number;
}

export type Job = RoundsJob | AmountJob | RefreshJob;

export interface LoadResult {
  /** Requests answered during the warm-up. */
  warmup: number;
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
const job = await readJsonStdin<Job>();
const deadline = performance.now() + job.maxSeconds * 1000;
setTimeout(() => {
  console.error(`load generator: stopped after ${job.maxSeconds} s`);
  process.exit(3);
}, job.maxSeconds * 1000).unref();

const result =
  job.kind === "rounds" ? await rounds(job) : job.kind === "amount" ? await amount(job) : await refresh(job);
console.log(JSON.stringify(result));
process.exit(0);

interface Tally {
  warmup: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  latencies: number[];
}

function options(t: Target, connections: number) {
  return {
    url: t.url,
    method: t.method,
    headers: t.headers,
    body: t.body,
    connections,
    pipelining: 1,
  };
}

function summary(t: Tally): LoadResult {
  const latencies = t.latencies.sort((a, b) => a - b);
  const failed = t.non2xx + t.errors;
  return {
    warmup: t.warmup,
    ok: t.ok,
    failed,
    seconds: t.seconds,
    rps: t.ok / t.seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    ...(failed ? { failures: `${t.non2xx} non-2xx answers, ${t.errors} connection errors` } : {}),
  };
}

async function rounds(j: RoundsJob): Promise<Record<string, LoadResult>> {
  const tallies = new Map<string, Tally>(
    j.targets.map((t) => [t.name, { warmup: 0, ok: 0, non2xx: 0, errors: 0, seconds: 0, latencies: [] }]),
  );
  if (j.warmupSeconds > 0) {
    for (const t of j.targets) {
      const r = await cannon({ ...options(t, j.connections), duration: j.warmupSeconds });
      const tally = tallies.get(t.name) as Tally;
      tally.warmup += r["2xx"] + r.non2xx;
    }
  }
  for (let round = 0; round < j.rounds; round++) {
    for (const t of j.targets) {
      const tally = tallies.get(t.name) as Tally;
      const r = await cannon({ ...options(t, j.connections), duration: j.secondsPerRound }, tally.latencies);
      tally.ok += r["2xx"];
      tally.non2xx += r.non2xx;
      tally.errors += r.errors;
      tally.seconds += r.duration;
    }
  }
  return Object.fromEntries([...tallies].map(([name, t]) => [name, summary(t)]));
}

async function amount(j: AmountJob): Promise<LoadResult> {
  const tally: Tally = { warmup: 0, ok: 0, non2xx: 0, errors: 0, seconds: 0, latencies: [] };
  const r = await cannon({ ...options(j.target, j.connections), amount: j.amount }, tally.latencies);
  Object.assign(tally, { ok: r["2xx"], non2xx: r.non2xx, errors: r.errors, seconds: r.duration });
  return summary(tally);
}

/**
 * One autocannon run, stopped at the job's deadline if it is still going. Its own latency figures are
 * whole milliseconds (an integer histogram); the response times of the 2xx answers go into
 * `latencies` instead, as measured (fractions of a ms).
 */
function cannon(opts: autocannon.Options, latencies?: number[]): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, r) => (err ? reject(err) : resolve(r)));
    if (latencies)
      instance.on("response", (_client, status, _bytes, ms) => {
        if (status >= 200 && status < 300) latencies.push(ms);
      });
    const stop = setTimeout(() => instance.stop(), Math.max(0, deadline - performance.now() - 1000));
    instance.on("done", () => clearTimeout(stop));
  });
}

/** `POST` a form over a keep-alive connection from `agent`'s local address; the JSON answer. */
function postForm(
  url: string,
  form: URLSearchParams,
  agent: http.Agent,
): Promise<{ status: number; body: Record<string, string | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/x-www-form-urlencoded" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (c: string) => {
          text += c;
        });
        res.on("error", reject);
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on("error", reject);
    req.end(form.toString());
  });
}

async function refresh(j: RefreshJob): Promise<LoadResult> {
  const tally: Tally = { warmup: 0, ok: 0, non2xx: 0, errors: 0, seconds: 0, latencies: [] };
  const failures: string[] = [];
  const warmEnd = performance.now() + j.warmupSeconds * 1000;
  const end = Math.min(warmEnd + j.seconds * 1000, deadline - 1000);
  await Promise.all(
    j.chains.map(async (chain, c) => {
      let token = chain.refreshToken;
      // Many callers, as many clients on many machines would be: each chain moves to a new loopback
      // address every REQUESTS_PER_CALLER requests, so the per-caller limit measures nothing here.
      let agent: http.Agent | undefined;
      for (let n = 0; performance.now() < end; n++) {
        if (n % REQUESTS_PER_CALLER === 0) {
          agent?.destroy();
          const k = n / REQUESTS_PER_CALLER;
          agent = new http.Agent({ keepAlive: true, localAddress: `127.3.${c % 250}.${(k % 250) + 1}` });
        }
        const t0 = performance.now();
        const res = await postForm(
          j.url,
          new URLSearchParams({
            grant_type: "refresh_token",
            client_id: chain.clientId,
            refresh_token: token,
            resource: j.resource,
          }),
          agent as http.Agent,
        );
        const answer = res.body;
        const ms = performance.now() - t0;
        const counted = t0 >= warmEnd;
        if (res.status !== 200 || !answer.refresh_token || !answer.access_token) {
          if (counted) tally.non2xx++;
          failures.push(`${res.status} ${answer.error ?? ""}`.trim());
          agent?.destroy();
          return; // the chain is broken: a retry would replay a used token
        }
        token = answer.refresh_token;
        if (counted) {
          tally.ok++;
          tally.latencies.push(ms);
        } else tally.warmup++;
      }
      agent?.destroy();
    }),
  );
  tally.seconds = (performance.now() - warmEnd) / 1000;
  const r = summary(tally);
  return failures.length ? { ...r, failed: failures.length, failures: [...new Set(failures)].join(", ") } : r;
}
