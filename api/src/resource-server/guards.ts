/**
 * What stands in front of the MCP transports, before the token gate: DNS-rebinding guards (Host and
 * Origin), CORS for the allowed browser origins, and the request size limit.
 *
 * @module
 */
import { hostHeaderValidation } from "@modelcontextprotocol/hono";
import type { Context, MiddlewareHandler, Next } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { Config } from "../config/config.ts";
import { JSONRPC_INVALID_REQUEST, JSONRPC_SERVER_ERROR, jsonRpcError } from "../core/jsonrpc.ts";
import { isLoopbackHost, LOOPBACK_HOSTS } from "../core/loopback.ts";

export function transportGuards(config: Config): MiddlewareHandler[] {
  const allowed = originPolicy(config);
  const { hostname } = config.publicOrigin;
  return [
    // A server on loopback answers to every loopback name; elsewhere only to its public host name.
    hostHeaderValidation(isLoopbackHost(hostname) ? [...LOOPBACK_HOSTS] : [hostname]),
    originGuard(allowed),
    browserOnly(
      cors({
        origin: (origin) => (allowed(origin) ? origin : null),
        allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
        allowHeaders: [
          "Authorization",
          "Content-Type",
          "Accept",
          "MCP-Protocol-Version",
          "Mcp-Session-Id",
          "Mcp-Method",
          "Mcp-Name",
          "Last-Event-ID",
        ],
        exposeHeaders: ["WWW-Authenticate", "Mcp-Session-Id", "MCP-Protocol-Version"],
        maxAge: 600,
      }),
    ),
    bodyLimit({
      maxSize: config.maxBodyBytes,
      onError: (c) =>
        c.json(
          jsonRpcError(JSONRPC_INVALID_REQUEST, `Request body exceeds ${config.maxBodyBytes} bytes`),
          413,
          // The rest of the body is not read: close the connection instead of reusing it (RFC 9112 §9.6).
          { Connection: "close" },
        ),
    }),
  ];
}

/**
 * CORS only where a browser asks: a browser sends `Origin` on every cross-origin request and on every
 * POST (Fetch §3.2.5), so a request without one is same-origin or not from a browser, and CORS headers
 * would tell it nothing. Its answer is left exactly as the SDK built it: Hono rebuilds a response whose
 * headers a middleware changes after the handler (and CORS sets some before it), which costs a copy of
 * every answer. No `Vary: Origin` is needed there either: MCP answers are POST results and event streams,
 * which no cache stores.
 */
function browserOnly(middleware: MiddlewareHandler): MiddlewareHandler {
  return async function browserOnly(c, next) {
    if (!c.req.header("origin")) return next();
    return middleware(c, next);
  };
}

/**
 * Which browser origins may call the MCP endpoints: the server's own and ALLOWED_ORIGINS, exactly; and,
 * when the server's own URL is on loopback (a developer's machine), any loopback origin on any port, so
 * a browser client such as the MCP Inspector's web UI (`http://localhost:6274`) connects directly. A
 * page on loopback is on the same machine as the server, which is what DNS-rebinding protection
 * guards; a deployment's public URL is never loopback, so there only the exact origins pass.
 */
export function originPolicy(config: Pick<Config, "publicOrigin" | "allowedOrigins">) {
  const exact = new Set([config.publicOrigin.origin, ...config.allowedOrigins]);
  const local = isLoopbackHost(config.publicOrigin.hostname);
  return (origin: string): boolean => {
    if (exact.has(origin)) return true;
    if (!local || !URL.canParse(origin)) return false;
    const u = new URL(origin);
    return (
      (u.protocol === "http:" || u.protocol === "https:") && u.origin === origin && isLoopbackHost(u.hostname)
    );
  };
}

/**
 * MCP transports: a present `Origin` that is not ours gets 403 (DNS rebinding, 2025-11-25).
 *
 * Not the SDK's `validateOriginHeader`/`originValidation` on purpose: they compare host names and ignore
 * scheme and port, so `http://mcp.contoso.com:8080` would pass for `https://mcp.contoso.com`; here the
 * whole origin must be one of ours (ALLOWED_ORIGINS are origins too).
 */
function originGuard(allowed: (origin: string) => boolean) {
  return async function originGuard(c: Context, next: Next) {
    const origin = c.req.header("origin");
    if (origin && !allowed(origin)) {
      return c.json(jsonRpcError(JSONRPC_SERVER_ERROR, `Origin ${origin} is not allowed`), 403);
    }
    await next();
  };
}
