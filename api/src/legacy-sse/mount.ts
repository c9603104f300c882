/**
 * The one seam where the legacy HTTP+SSE transport (MCP 2024-11-05) joins the app: `GET /api/sse` opens
 * a stream, `POST /api/messages` carries the client's messages, each behind the transport guards and the
 * token gate the app hands in. Removing the transport is removing this mount.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { MESSAGES_PATH, SSE_PATH } from "../config/paths.ts";
import { JSONRPC_SERVER_ERROR, jsonRpcError } from "../core/jsonrpc.ts";
import type { AuthVariables } from "../core/principal.ts";
import type { SseBridge } from "./bridge.ts";

type Env = { Variables: AuthVariables };

export function legacySseRoutes(
  bridge: SseBridge,
  opts: { guards: MiddlewareHandler[]; gate: MiddlewareHandler<Env> },
): Hono<Env> {
  const app = new Hono<Env>();
  for (const path of [SSE_PATH, MESSAGES_PATH]) app.use(path, ...opts.guards, opts.gate);
  app.get(SSE_PATH, (c) => bridge.open(c.req.raw, c.var.principal));
  app.post(MESSAGES_PATH, (c) => bridge.post(c.req.raw, c.var.principal, c.var.authInfo));
  // A client probing for Streamable HTTP at the SSE URL falls back to GET on 405.
  app.all(SSE_PATH, (c) => c.json(methodNotAllowed(c.req.method), 405, { Allow: "GET" }));
  app.all(MESSAGES_PATH, (c) => c.json(methodNotAllowed(c.req.method), 405, { Allow: "POST" }));
  return app;
}

function methodNotAllowed(method: string) {
  return jsonRpcError(JSONRPC_SERVER_ERROR, `Method ${method} not allowed.`);
}
