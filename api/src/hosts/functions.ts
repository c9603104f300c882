/**
 * The Azure host: the Hono app as one catch-all HTTP function on a Flex Consumption Function App.
 *
 * Registers two functions with the Azure Functions Node.js worker:
 * - `http`: every method on every path (`route: "{*path}"`, with `routePrefix: ""` in `host.json`), handed to
 *   the same `createApp` the Node host serves, through `functions-adapter.ts`. HTTP streaming is on, so
 *   request and response bodies stream (SSE included).
 * - `sweep`: a timer that deletes expired proxy-mode state every 15 minutes.
 *
 * Import-time work is registration only: the app and its dependencies load, and the environment is read
 * and validated, on the first request (the `import()` below keeps them out of the worker's indexing step).
 *
 * @module
 */

import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from "@azure/functions";
import azureFunctions from "@azure/functions";
import { sweepExpiredState } from "../store/sweep.ts";
import { toFunctionsResponse, toWebRequest } from "./functions-adapter.ts";

const { app } = azureFunctions;

app.setup({ enableHttpStream: true });

type Fetch = (request: Request) => Response | Promise<Response>;

let appReady: Promise<Fetch> | undefined;

/** The Hono app, created once per worker process; a failed start (bad settings) is retried next request. */
function loadApp(): Promise<Fetch> {
  if (!appReady) {
    appReady = (async () => {
      const [{ createApp }, { loadConfig }, { nodeHostDeps }, { frontEndAddress }, { startTelemetry }] =
        await Promise.all([
          import("../app.ts"),
          import("../config/config.ts"),
          import("./node-deps.ts"),
          import("../authorization-server/clients/rate-limit.ts"),
          import("./telemetry.ts"),
        ]);
      const config = loadConfig(process.env);
      // Application Insights through the Azure Monitor distro (the Function App sets its connection string).
      await startTelemetry(process.env);
      // Per-caller limits key on the address Azure's front end saw (no socket of the caller's here).
      const hono = createApp(config, { ...nodeHostDeps(config), callerAddress: frontEndAddress });
      return (request: Request) => hono.fetch(request);
    })();
    appReady.catch(() => {
      appReady = undefined;
    });
  }
  return appReady;
}

export async function handleHttp(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  let fetchApp: Fetch;
  try {
    fetchApp = await loadApp();
  } catch (err) {
    // ConfigError names the missing or bad settings; that belongs in the logs, not in a public response.
    context.error(err instanceof Error ? err.message : String(err));
    return {
      status: 500,
      jsonBody: {
        error: "server_error",
        error_description: "The server is not configured correctly; see its logs.",
      },
    };
  }
  return toFunctionsResponse(await fetchApp(toWebRequest(request)));
}

export async function handleSweep(_timer: Timer, context: InvocationContext): Promise<void> {
  const [{ loadConfig }, { createStateStore }] = await Promise.all([
    import("../config/config.ts"),
    import("../services.ts"),
  ]);
  const config = loadConfig(process.env);
  // The app's own store (see services.ts): none in Entra-direct mode without a table.
  const store = createStateStore(config);
  const { swept } = await sweepExpiredState({ store });
  context.log(JSON.stringify({ level: "info", msg: "swept expired state", swept }));
}

app.http("http", {
  route: "{*path}",
  methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
  authLevel: "anonymous",
  handler: handleHttp,
});

app.timer("sweep", {
  schedule: "0 */15 * * * *",
  handler: handleSweep,
});
