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
import { signedCookies } from "./authorization-server/browser/cookies.ts";
import { type CimdResolverOptions, createCimdResolver } from "./authorization-server/clients/cimd.ts";
import { createRegistrationRateLimiter } from "./authorization-server/clients/rate-limit.ts";
import { createClientRegistry } from "./authorization-server/clients/registry.ts";
import { mountAuthorizationServer } from "./authorization-server/routes/index.ts";
import { createGrantService } from "./authorization-server/tokens/grants.ts";
import { createKeyring } from "./authorization-server/tokens/keyring.ts";
import { createProxyVerifier } from "./authorization-server/tokens/verifier.ts";
import type { Config } from "./config/config.ts";
import { MCP_PATH, MESSAGES_PATH, PRM_PATH, SSE_PATH, sseResource } from "./config/paths.ts";
import { escapeHtml } from "./core/html.ts";
import { consoleLogger, type Logger } from "./core/log.ts";
import { page, pageSecurityHeaders } from "./core/page.ts";
import type { TokenVerifier } from "./core/principal.ts";
import {
  consentUrl,
  createAssertionProvider,
  createOboProvider,
  type GraphTokenProvider,
} from "./entra/obo.ts";
import { createUpstreamClient } from "./entra/upstream.ts";
import { createEntraKeySet, createEntraVerifier } from "./entra/verifier.ts";
import { type Backplane, InProcessBackplane } from "./legacy-sse/backplane.ts";
import { createSseBridge, SSE_DEFAULTS } from "./legacy-sse/bridge.ts";
import { StoreBackplane } from "./legacy-sse/store-backplane.ts";
import { createMcp } from "./mcp/server.ts";
import type { ToolDefinition } from "./mcp/tool.ts";
import { tools } from "./mcp/tools/index.ts";
import { type AuthVariables, protectedResourceMetadata, requireBearer } from "./resource-server/gate.ts";
import { createStore } from "./store/index.ts";
import type { Store } from "./store/store.ts";

export interface Deps {
  fetch: typeof fetch;
  now: () => number;
  logger: Logger;
  verifier: TokenVerifier;
  graphTokens: GraphTokenProvider;
  tools?: ToolDefinition[];
  /** The client assertion for Entra (the managed identity's token by default). */
  getAssertion: () => Promise<string>;
  /** Proxy-mode state; Table Storage from the configuration by default. */
  store: Store;
  /** DNS for the CIMD fetcher's address checks; hosts pass their platform's resolver. */
  resolveHost: CimdResolverOptions["resolveHost"];
  /** The fetch used for client ID metadata documents (hosts may pin resolved addresses). */
  cimdFetch: CimdResolverOptions["fetch"];
  /** The legacy SSE transport's limits and backplane (defaults: `SSE_DEFAULTS`; the store's backplane when there is a store). */
  sse: SseSettings;
}

export interface SseSettings {
  backplane?: Backplane;
  maxSessionsPerUser?: number;
  keepAliveMs?: number;
  idleTimeoutMs?: number;
  maxLifetimeMs?: number;
}

export function createApp(config: Config, deps: Partial<Deps> = {}) {
  const logger = deps.logger ?? consoleLogger;
  const now = deps.now ?? Date.now;
  const getAssertion = deps.getAssertion ?? createAssertionProvider(config);
  const entraKeys = createEntraKeySet(config, { fetch: deps.fetch });
  const entraVerifier = createEntraVerifier(config, { fetch: deps.fetch, now, keySet: entraKeys });
  const graphTokens = deps.graphTokens ?? createOboProvider(config, { now, getAssertion });
  const mcp = createMcp(config, { graphTokens, fetch: deps.fetch, logger, tools: deps.tools ?? tools });

  const app = new Hono<{ Variables: AuthVariables }>();
  let verifier = deps.verifier ?? entraVerifier;
  let authorizationServer = config.entra.issuer;
  // Proxy mode keeps its state in the store; Entra-direct mode has one only if a table is configured (the
  // SSE backplane then uses it, so that several instances can share SSE sessions).
  const store =
    deps.store ??
    (config.authMode === "proxy" || config.storage.tableEndpoint
      ? createStore(config, { managedIdentityClientId: config.managedIdentityClientId, now })
      : undefined);

  if (config.authMode === "proxy") {
    if (!store) throw new Error("proxy mode needs a store");
    const keyring = createKeyring(store);
    const grants = createGrantService(config, { store, keyring, now });
    const upstream = createUpstreamClient(config, { getAssertion, fetch: deps.fetch, now });
    const cimd = createCimdResolver({
      fetch: deps.cimdFetch ?? ((url, init) => (deps.fetch ?? fetch)(url, init)),
      resolveHost:
        deps.resolveHost ??
        (async () => {
          throw new Error("this host provides no DNS resolver for client ID metadata documents");
        }),
      now,
      allowLoopbackHttp: config.oauth.cimdAllowLoopbackHttp,
    });
    const clients = createClientRegistry({
      store,
      cimd,
      now,
      preregistered: config.oauth.preregisteredClients.map((c) => ({
        ...c,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
        application_type: "native",
        source: "preregistered",
      })),
    });
    const secure = new URL(config.publicUrl).protocol === "https:";
    mountAuthorizationServer(app as unknown as Hono, {
      config,
      store,
      keyring,
      grants,
      clients,
      upstream,
      entraVerifier,
      entraKeys,
      cookies: signedCookies({ secure, hmacKey: async () => (await keyring.load(now())).hmac }),
      registerLimiter: createRegistrationRateLimiter({
        increment: (key, windowSec) => store.increment("ratelimit", key, windowSec),
        now,
      }),
      logger,
      now,
    });
    verifier = deps.verifier ?? createProxyVerifier(config, { grants, upstream, logger, now });
    authorizationServer = config.publicUrl;
  }

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
  // The legacy SSE endpoint's own identifier for the same resource (see `sseResource`).
  app.get(`${PRM_PATH}${SSE_PATH}`, (c) =>
    c.json(protectedResourceMetadata(config, authorizationServer, sseResource(config))),
  );

  // Liveness plus the public facts the landing page shows (all of them are in the metadata or the
  // Entra sign-in URLs anyway): the mode, the MCP endpoint, where clients sign in, the consent link.
  app.get("/api/health", publicCors, (c) =>
    c.json({
      status: "ok",
      authMode: config.authMode,
      resource: config.resource,
      authorizationServer,
      scopes: prm().scopes_supported,
      tenantId: config.entra.tenantId,
      clientId: config.entra.clientId,
      consentUrl: consentUrl(config),
    }),
  );

  // The page Entra returns to after a user grants the server's Graph permission (see the consent link).
  app.get("/oauth/consent-complete", (c) => {
    const error = c.req.query("error");
    const html = error
      ? page(
          "Consent not granted",
          `<p>Microsoft Entra ID answered <code>${escapeHtml(error)}</code>.</p>
<p>Tools that read Microsoft Graph will keep asking for consent. Try the link again, or ask an
administrator to grant consent for your organisation. You can close this window.</p>`,
        )
      : page(
          "Consent granted",
          `<p class="ok"><strong>This server can now read your Microsoft Graph profile on your behalf.</strong></p>
<p>Close this window and call the tool again: your MCP client does not need to reconnect.</p>`,
        );
    return c.html(html, error ? 400 : 200, pageSecurityHeaders([]));
  });

  // The MCP endpoints (Streamable HTTP, and the legacy SSE pair): DNS-rebinding guards first, then size,
  // CORS, the token gate, then the SDK.
  const publicHost = new URL(config.publicUrl).hostname;
  const loopback = ["127.0.0.1", "localhost", "[::1]"];
  const guards = [
    hostHeaderValidation(loopback.includes(publicHost) ? loopback : [publicHost]),
    originGuard(new Set([new URL(config.publicUrl).origin, ...config.allowedOrigins])),
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
  ];
  app.use(MCP_PATH, ...guards, requireBearer(config, verifier));
  app.all(MCP_PATH, (c) => mcp.fetch(c.req.raw, { authInfo: c.var.authInfo }));

  // Legacy HTTP+SSE (2024-11-05): the same guards and token gate; challenges name the SSE resource.
  const sseGate = requireBearer(config, verifier, { resource: sseResource(config) });
  const maxSessionsPerUser = deps.sse?.maxSessionsPerUser ?? SSE_DEFAULTS.maxSessionsPerUser;
  const maxLifetimeMs = deps.sse?.maxLifetimeMs ?? SSE_DEFAULTS.maxLifetimeMs;
  const sse = createSseBridge({
    backplane:
      deps.sse?.backplane ??
      (store
        ? new StoreBackplane(store, {
            maxSessionsPerOwner: maxSessionsPerUser,
            maxSessionLifetimeMs: maxLifetimeMs,
            logger,
            now,
          })
        : new InProcessBackplane({ maxSessionsPerOwner: maxSessionsPerUser })),
    mcp,
    mcpUrl: config.resource,
    messagesPath: MESSAGES_PATH,
    logger,
    maxSessionsPerUser,
    keepAliveMs: deps.sse?.keepAliveMs,
    idleTimeoutMs: deps.sse?.idleTimeoutMs,
    maxLifetimeMs,
    now,
  });
  for (const path of [SSE_PATH, MESSAGES_PATH]) app.use(path, ...guards, sseGate);
  app.get(SSE_PATH, (c) => sse.open(c.req.raw, c.var.principal));
  app.post(MESSAGES_PATH, (c) => sse.post(c.req.raw, c.var.principal, c.var.authInfo));
  // A client probing for Streamable HTTP at the SSE URL falls back to GET on 405.
  app.all(SSE_PATH, (c) => c.json(methodNotAllowed(c.req.method), 405, { Allow: "GET" }));
  app.all(MESSAGES_PATH, (c) => c.json(methodNotAllowed(c.req.method), 405, { Allow: "POST" }));

  /** Ends the SSE streams this instance holds (call it on shutdown, before closing the HTTP server). */
  const close = () => sse.close();
  return Object.assign(app, { close });
}

export type App = ReturnType<typeof createApp>;

function methodNotAllowed(method: string) {
  return { jsonrpc: "2.0", error: { code: -32000, message: `Method ${method} not allowed.` }, id: null };
}

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
