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
  const { origin, hostname } = config.publicOrigin;
  const allowedOrigins = new Set([origin, ...config.allowedOrigins]);
  return [
    // A server on loopback answers to every loopback name; elsewhere only to its public host name.
    hostHeaderValidation(isLoopbackHost(hostname) ? [...LOOPBACK_HOSTS] : [hostname]),
    originGuard(allowedOrigins),
    cors({
      origin: (origin) => (allowedOrigins.has(origin) ? origin : null),
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
 * MCP transports: a present `Origin` that is not ours gets 403 (DNS rebinding, 2025-11-25).
 *
 * Not the SDK's `validateOriginHeader`/`originValidation` on purpose: they compare host names and ignore
 * scheme and port, so `http://mcp.contoso.com:8080` would pass for `https://mcp.contoso.com`; here the
 * whole origin must be one of ours (ALLOWED_ORIGINS are origins too).
 */
function originGuard(allowed: Set<string>) {
  return async function originGuard(c: Context, next: Next) {
    const origin = c.req.header("origin");
    if (origin && !allowed.has(origin)) {
      return c.json(jsonRpcError(JSONRPC_SERVER_ERROR, `Origin ${origin} is not allowed`), 403);
    }
    await next();
  };
}
