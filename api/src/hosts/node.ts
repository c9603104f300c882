/**
 * The local host: the Hono app on Node's HTTP server.
 *
 * `node api/src/hosts/node.ts` reads the environment (see `config.ts`), listens on `PORT` (default 7071)
 * at `HOST` (default 127.0.0.1), and stops cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { serve } from "@hono/node-server";
import { createApp } from "../app.ts";
import { ConfigError, loadConfig } from "../config.ts";
import { nodeHostDeps } from "./node-deps.ts";

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

const app = createApp(config, nodeHostDeps(config));
const port = Number(process.env.PORT ?? 7071);
const hostname = process.env.HOST ?? "127.0.0.1";
const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
  console.log(
    JSON.stringify({
      level: "info",
      msg: "listening",
      url: `http://${hostname}:${info.port}`,
      mcp: config.resource,
      authMode: config.authMode,
    }),
  );
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    // Streams held open by clients must not keep the process alive forever.
    setTimeout(() => process.exit(0), 3000).unref();
    // End the SSE streams first (their clients see a clean end of stream), then stop accepting
    // connections; connections left idle by the ended streams close with the server.
    void app
      .close()
      .catch((err: unknown) =>
        console.error(JSON.stringify({ level: "error", msg: "close failed", error: String(err) })),
      )
      .finally(() => {
        server.close(() => process.exit(0));
        if ("closeIdleConnections" in server) server.closeIdleConnections();
      });
  });
}
