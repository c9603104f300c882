/**
 * `createApp(config, deps)`: the whole server as one Hono router, runtime-neutral.
 *
 * No `process.env`, no Node-only API and no I/O at import: hosts (`hosts/node.ts`, `hosts/functions.ts`)
 * read the environment, build the config, and hand requests to `app.fetch`.
 *
 * @module
 */
import { hostHeaderValidation } from "@modelcontextprotocol/hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { createEntraVerifier, type TokenVerifier } from "./auth/entra-verifier.ts";
import { type AuthVariables, PRM_PATH, protectedResourceMetadata, requireBearer } from "./auth/gate.ts";
import type { Config } from "./config.ts";
import { createOboProvider, type GraphTokenProvider } from "./entra/obo.ts";
import { consoleLogger, type Logger } from "./log.ts";
import { createMcp } from "./mcp/server.ts";
import type { ToolDefinition } from "./mcp/tool.ts";
import { escapeHtml } from "./html.ts";
import { page } from "./pages.ts";

export interface Deps {
  fetch: typeof fetch;
  now: () => number;
  logger: Logger;
  verifier: TokenVerifier;
  graphTokens: GraphTokenProvider;
  tools?: ToolDefinition[];
}

const MCP_PATH = "/api/mcp";

export function createApp(config: Config, deps: Partial<Deps> = {}) {
  const logger = deps.logger ?? consoleLogger;
  const verifier = deps.verifier ?? createEntraVerifier(config, { fetch: deps.fetch, now: deps.now });
  const graphTokens = deps.graphTokens ?? createOboProvider(config, { now: deps.now });
  const mcp = createMcp(config, { graphTokens, fetch: deps.fetch, logger, tools: deps.tools });
  const authorizationServer = config.entra.issuer;

  const app = new Hono<{ Variables: AuthVariables }>();

  app.onError((err, c) => {
    logger.error("unhandled error", { path: c.req.path, error: err.message });
    return c.json({ error: "server_error", error_description: "The server hit an unexpected error." }, 500);
  });
  app.notFound((c) =>
    c.json({ error: "not_found", error_description: `No route for ${c.req.method} ${c.req.path}` }, 404),
  );

  // Public metadata: readable from any origin (browser-based clients discover through it).
  const publicCors = cors({ origin: "*", allowMethods: ["GET", "OPTIONS"], maxAge: 86400 });
  const prm = () => protectedResourceMetadata(config, authorizationServer);
  // RFC 9728: both the path-inserted URL clients build from the MCP URL and the root URL.
  app.use(`${PRM_PATH}/*`, publicCors);
  app.use(PRM_PATH, publicCors);
  app.get(`${PRM_PATH}${MCP_PATH}`, (c) => c.json(prm()));
  app.get(PRM_PATH, (c) => c.json(prm()));

  app.get("/api/health", publicCors, (c) =>
    c.json({ status: "ok", authMode: config.authMode, resource: config.resource }),
  );

  // The page Entra returns to after a user grants the server's Graph permission (see the consent link).
  app.get("/oauth/consent-complete", (c) => {
    const error = c.req.query("error");
    const html = error
      ? page(
          "Consent not granted",
          `<p>Entra ID answered <code>${escapeHtml(error)}</code>. You can close this window and try again.</p>`,
        )
      : page("Consent granted", "<p>Thank you. You can close this window and call the tool again.</p>");
    return c.html(html, error ? 400 : 200);
  });

  // The MCP endpoint: DNS-rebinding guards first, then size, CORS, the token gate, then the SDK.
  const publicHost = new URL(config.publicUrl).hostname;
  const loopback = ["127.0.0.1", "localhost", "[::1]"];
  app.use(MCP_PATH, hostHeaderValidation(loopback.includes(publicHost) ? loopback : [publicHost]));
  app.use(MCP_PATH, originGuard(new Set([new URL(config.publicUrl).origin, ...config.allowedOrigins])));
  app.use(
    MCP_PATH,
    cors({
      origin: (origin) =>
        origin === new URL(config.publicUrl).origin || config.allowedOrigins.includes(origin) ? origin : null,
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
  );
  app.use(
    MCP_PATH,
    bodyLimit({
      maxSize: config.maxBodyBytes,
      onError: (c) =>
        c.json(
          {
            jsonrpc: "2.0",
            error: { code: -32600, message: `Request body exceeds ${config.maxBodyBytes} bytes` },
            id: null,
          },
          413,
        ),
    }),
  );
  app.use(MCP_PATH, requireBearer(config, verifier));
  app.all(MCP_PATH, (c) => mcp.fetch(c.req.raw, { authInfo: c.var.authInfo }));

  return app;
}

export type App = ReturnType<typeof createApp>;

/** MCP transports: a present `Origin` that is not ours gets 403 (DNS rebinding, 2025-11-25). */
function originGuard(allowed: Set<string>) {
  return async function originGuard(c: import("hono").Context, next: import("hono").Next) {
    const origin = c.req.header("origin");
    if (origin && !allowed.has(origin)) {
      return c.json(
        { jsonrpc: "2.0", error: { code: -32000, message: `Origin ${origin} is not allowed` }, id: null },
        403,
      );
    }
    await next();
  };
}
