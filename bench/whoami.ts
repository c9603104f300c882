// `npm run bench`: throughput and latency of authenticated `whoami` calls over HTTP, next to the same
// handler with authentication replaced by a fixed principal, measured in one run on this machine.
//
// Both servers run in this process on @hono/node-server; the load comes from this process too
// (keep-alive HTTP, fixed concurrency), alternating rounds so drift hits both sides alike.
// The authenticated side is Entra-direct mode: a real RS256 token from the local emulator, verified
// with jose against the emulator's JWKS (fetched once, then cached), exactly as in production.
import { Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import { start as startEmulator } from "@entra-mcp/emulator";
import { toolCall } from "@entra-mcp/testing/mcp-request";
import { ensureTrustedCa } from "@entra-mcp/testing/trust";
import { serve } from "@hono/node-server";
import { createApp } from "../api/src/app.ts";
import { loadConfig } from "../api/src/config/config.ts";
import { silentLogger } from "../api/src/core/log.ts";
import type { TokenVerifier } from "../api/src/core/principal.ts";

await ensureTrustedCa();

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 4) * 1000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = 2;

const emulator = await startEmulator({ port: 0 });
const user = emulator.users[0];
const token = await emulator.mintAccessToken({
  oid: user.oid,
  name: user.displayName,
  preferred_username: user.upn,
});

function listen(app: ReturnType<typeof createApp>) {
  return new Promise<{ port: number; close: () => void }>((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) =>
      resolve({ port: info.port, close: () => server.close() }),
    );
  });
}

// The same config for both; PUBLIC_URL's host is loopback, so the Host check accepts either port.
const config = loadConfig({ ...emulator.serverEnv(), AUTH_MODE: "entra", PUBLIC_URL: "http://127.0.0.1:1" });
const authed = await listen(createApp(config, { logger: silentLogger }));
const fixed: TokenVerifier = {
  async verify() {
    return {
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
      principal: {
        tenantId: emulator.tenantId,
        objectId: user.oid,
        name: user.displayName,
        scopes: ["user_impersonation"],
        userAssertion: async () => token,
      },
    };
  },
};
const open = await listen(createApp(config, { logger: silentLogger, verifier: fixed }));

const { headers, body } = toolCall("whoami");
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function once(port: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/api/mcp",
        method: "POST",
        agent,
        headers: { ...headers, authorization: `Bearer ${token}`, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => {
          if (res.statusCode !== 200 || !text.includes(user.oid))
            reject(new Error(`unexpected answer ${res.statusCode}: ${text.slice(0, 200)}`));
          else resolve(performance.now() - started);
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function run(port: number, ms: number): Promise<number[]> {
  const latencies: number[] = [];
  const deadline = performance.now() + ms;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) latencies.push(await once(port));
    }),
  );
  return latencies;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

// Warm up both (JIT, the JWKS fetch, sockets).
await run(authed.port, 500);
await run(open.port, 500);

const results = { auth: [] as number[], open: [] as number[] };
let elapsed = { auth: 0, open: 0 };
for (let r = 0; r < ROUNDS; r++) {
  for (const side of ["open", "auth"] as const) {
    const t0 = performance.now();
    results[side].push(...(await run(side === "auth" ? authed.port : open.port, DURATION_MS / ROUNDS)));
    elapsed = { ...elapsed, [side]: elapsed[side] + (performance.now() - t0) };
  }
}

const line = (label: string, lat: number[], ms: number) => {
  const s = [...lat].sort((a, b) => a - b);
  const rps = lat.length / (ms / 1000);
  console.log(
    `${label.padEnd(34)} ${rps.toFixed(0).padStart(7)} req/s   p50 ${pct(s, 50).toFixed(2).padStart(6)} ms   p99 ${pct(s, 99).toFixed(2).padStart(6)} ms   (${lat.length} calls)`,
  );
  return { rps, p50: pct(s, 50), p99: pct(s, 99) };
};
console.log(
  `whoami over Streamable HTTP, ${CONCURRENCY} concurrent, ${DURATION_MS / 1000} s per side, Node ${process.version}\n`,
);
const o = line("no auth (fixed principal)", results.open, elapsed.open);
const a = line("Entra token validated (jose RS256)", results.auth, elapsed.auth);
console.log(
  `\nratio auth/no-auth: throughput ${(a.rps / o.rps).toFixed(2)}x, p50 ${(a.p50 / o.p50).toFixed(2)}x, p99 ${(a.p99 / o.p99).toFixed(2)}x`,
);

agent.destroy();
authed.close();
open.close();
await emulator.stop();
process.exit(0);
