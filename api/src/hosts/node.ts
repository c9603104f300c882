/**
 * The local host: the Hono app on Node's HTTP server.
 *
 * `node api/src/hosts/node.ts` reads the environment (see `config/config.ts`), listens on `PORT` (default 7071)
 * at `HOST` (default 127.0.0.1), and stops cleanly on SIGINT/SIGTERM. It also serves the landing page
 * (`app/`, see `landing.ts`) at `/`.
 *
 * @module
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { createApp } from "../app.ts";
import { ConfigError, loadConfig } from "../config/config.ts";
import { createLandingSite } from "./landing.ts";
import { nodeHostDeps } from "./node-deps.ts";
import { createStdoutLogger } from "./stdout-log.ts";
import { startTelemetry } from "./telemetry.ts";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

// OpenTelemetry when the environment names a destination (see telemetry.ts); nothing is loaded otherwise.
const telemetry = await startTelemetry(process.env);
const logger = createStdoutLogger();
const app = createApp(config, { ...nodeHostDeps(config), logger });
// The landing page at `/`, as the Static Web App serves it on Azure.
const landing = createLandingSite(config, {
  appDir: fileURLToPath(new URL("../../../app/", import.meta.url)),
  swaConfigPath: fileURLToPath(new URL("../../../staticwebapp.config.json", import.meta.url)),
});
const port = Number(process.env.PORT ?? 7071);
/**
 * How long a stopping server lets requests in progress finish: more than the slowest request's outbound
 * deadlines (`core/deadlines.ts`: renewing a sign-in, the On-Behalf-Of exchange, then Graph).
 */
const shutdownGraceMs = shutdownGraceOf(process.env.SHUTDOWN_GRACE_SEC);
const hostname = process.env.HOST ?? "127.0.0.1";
const fetchHandler: typeof app.fetch = async (req, ...rest) =>
  (await landing(req)) ?? app.fetch(req, ...rest);
const server = serve({ fetch: fetchHandler, port, hostname }, (info) => {
  console.log(
    JSON.stringify({
      level: "info",
      msg: "listening",
      url: `http://${hostname}:${info.port}`,
      mcp: config.resource,
      authMode: config.authMode,
      telemetry: telemetry?.target ?? "none",
    }),
  );
});

// Requests in progress per connection, so that shutdown can close the connections that are between
// requests (kept alive) at once and let the others finish. Node's own `closeIdleConnections` misses a
// connection whose previous request the client aborted (a dropped SSE stream): it would hold `close` for the
// whole keep-alive timeout.
const inProgress = new Map<Socket, number>();
/** Responses not finished yet: what shutdown waits for, and answers if they outlast the grace period. */
const unfinished = new Set<ServerResponse>();
const httpServer = server as HttpServer;
httpServer.on("connection", (socket: Socket) => {
  inProgress.set(socket, 0);
  socket.once("close", () => inProgress.delete(socket));
});
httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
  const socket = req.socket;
  inProgress.set(socket, (inProgress.get(socket) ?? 0) + 1);
  unfinished.add(res);
  res.once("close", () => {
    unfinished.delete(res);
    if (inProgress.has(socket)) inProgress.set(socket, Math.max(0, (inProgress.get(socket) ?? 1) - 1));
  });
});

/**
 * Requests still running when the grace period ends: each gets a `503` with `Retry-After` (or, when its
 * answer had begun, its connection is closed, which the client sees as a cut response), then the process
 * exits 1 so that a supervisor knows requests were cut.
 */
let cut = 0;
function cutUnfinished(): void {
  cut = unfinished.size;
  for (const res of unfinished) {
    if (!res.headersSent) {
      res.writeHead(503, {
        "content-type": "application/json",
        "cache-control": "no-store",
        "retry-after": "5",
        connection: "close",
      });
      res.end(
        JSON.stringify({
          error: "temporarily_unavailable",
          error_description: "The server is restarting and could not finish this request; try again shortly.",
        }),
      );
    } else res.destroy();
  }
  console.warn(
    JSON.stringify({
      level: "warn",
      msg: "stopped with requests still in progress",
      cut,
      graceMs: shutdownGraceMs,
    }),
  );
  // Let the answers leave before the process goes.
  setTimeout(() => process.exit(cut ? 1 : 0), 200).unref();
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    // Requests held open by clients (or by a slow upstream) must not keep the process alive forever; the
    // grace period covers the outbound deadlines of the slowest request (see `core/deadlines.ts`).
    setTimeout(cutUnfinished, shutdownGraceMs).unref();
    // End the SSE streams first (their clients see a clean end of stream), then stop accepting
    // connections and close each one as soon as no request is in progress on it.
    void app
      .close()
      .catch((err: unknown) =>
        console.error(JSON.stringify({ level: "error", msg: "close failed", error: String(err) })),
      )
      .finally(() => {
        httpServer.close(() => {
          logger.info("stopped");
          logger.flush();
          // Send what telemetry is still buffered; the grace timer above bounds the wait.
          void (telemetry?.shutdown() ?? Promise.resolve())
            .catch(() => {})
            .finally(() => process.exit(cut ? 1 : 0));
        });
        const closeUnused = () => {
          for (const [socket, n] of inProgress) if (n === 0) socket.destroy();
        };
        closeUnused();
        setInterval(closeUnused, 50).unref();
      });
  });
}

function shutdownGraceOf(value: string | undefined): number {
  const sec = Number(value?.trim() || 50);
  if (!Number.isFinite(sec) || sec < 0 || sec > 600) {
    console.error(`SHUTDOWN_GRACE_SEC must be a number of seconds from 0 to 600, got "${value}"`);
    process.exit(78); // EX_CONFIG
  }
  return sec * 1000;
}
