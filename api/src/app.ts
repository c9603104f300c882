/**
 * `createApp(config, deps)`: the whole server as one Hono router, runtime-neutral. It builds the services
 * (`services.ts`) and composes the routes: the resource server's metadata, the authorization server
 * (proxy mode), the MCP endpoint, and the legacy SSE transport.
 *
 * No `process.env`, no Node-only API and no I/O at import: hosts (`hosts/node.ts`, `hosts/functions.ts`)
 * read the environment, build the config, and hand requests to `app.fetch`.
 *
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { routePath } from "hono/route";
import { authorizationServerRoutes } from "./authorization-server/routes/index.ts";
import type { Config } from "./config/config.ts";
import { GRAPH_PERMISSIONS } from "./config/graph-permissions.ts";
import {
  CONSENT_COMPLETE_PATH,
  connectedAppsUrl,
  HEALTH_PATH,
  MCP_PATH,
  sseResource,
} from "./config/paths.ts";
import { Failure, failureResponse } from "./core/failure.ts";
import { pageSecurityHeaders } from "./core/page.ts";
import type { AuthVariables } from "./core/principal.ts";
import { inSpan, SpanKind } from "./core/telemetry.ts";
import { consentCompletePage, consentUrl, permissionsInState } from "./entra/consent.ts";
import { legacySseRoutes } from "./legacy-sse/mount.ts";
import type { ToolFailureListener } from "./mcp/server.ts";
import { challenge, challengeScope, requireBearer } from "./resource-server/gate.ts";
import { transportGuards } from "./resource-server/guards.ts";
import { protectedResourceRoutes } from "./resource-server/metadata.ts";
import { createHealthChecks, createServices, type Deps } from "./services.ts";

const isJson = (res: Response) => /^application\/json\b/i.test(res.headers.get("content-type") ?? "");

export type { Deps, SseSettings } from "./services.ts";

export function createApp(config: Config, deps: Partial<Deps> = {}) {
  const services = createServices(config, deps);
  const { verifier, logger, authorizationServerMetadata } = services;
  const app = new Hono<{ Variables: AuthVariables }>();

  // One trace per request: a server span named by the route (never the URL: a query can carry a code).
  app.use("*", (c, next) =>
    inSpan(
      `${c.req.method} request`,
      { "http.request.method": c.req.method },
      async (span) => {
        await next();
        const route = routePath(c, -1);
        span.updateName(`${c.req.method} ${route === "*" ? "(no route)" : route}`);
        span.setAttribute("http.route", route);
        span.setAttribute("http.response.status_code", c.res.status);
      },
      SpanKind.SERVER,
    ),
  );

  app.onError((err, c) => {
    if (err instanceof Failure) {
      // Storage or an upstream that failed below a route: one answer per reason, a page where a person is.
      logger.warn("request failed", {
        path: c.req.path,
        reason: err.reason,
        message: err.message,
        ...err.log,
      });
      return failureResponse(err, { page: isBrowserPath(c.req.path) });
    }
    logger.error("unhandled error", { path: c.req.path, error: err.message });
    return c.json({ error: "server_error", error_description: "The server hit an unexpected error." }, 500);
  });
  app.notFound((c) =>
    c.json({ error: "not_found", error_description: `No route for ${c.req.method} ${c.req.path}` }, 404),
  );

  if (services.authorizationServer) app.route("/", authorizationServerRoutes(services.authorizationServer));
  app.route("/", protectedResourceRoutes(config, authorizationServerMetadata));

  // Liveness plus the public facts the landing page shows (all of them are in the metadata or the
  // Entra sign-in URLs anyway): the mode, the MCP endpoint, where clients sign in, the Graph permissions
  // the tools declare and the consent link for all of them.
  const health = {
    status: "ok",
    authMode: config.authMode,
    resource: config.resource,
    authorizationServer: authorizationServerMetadata.issuer,
    scopes: [challengeScope(config)],
    tenantId: config.entra.tenantId,
    clientId: config.entra.clientId,
    tools: services.tools.map((t) => ({
      name: t.name,
      title: t.title,
      graphPermissions: t.graphPermissions,
    })),
    graphPermissions: services.graphPermissions.map((name) => ({
      name,
      allows: GRAPH_PERMISSIONS[name].allows,
    })),
    consentUrl: consentUrl(config, services.graphPermissions),
    // Proxy mode: where people see and revoke the apps they connected.
    ...(config.authMode === "proxy" ? { connectedAppsUrl: connectedAppsUrl(config) } : {}),
  };
  // Reachability of what the server depends on, as one word each: never an address, an error or a status.
  // A check runs at most every few seconds whatever the traffic, within its own short deadline.
  const checks = createHealthChecks(services);
  app.get(HEALTH_PATH, cors({ origin: "*", allowMethods: ["GET", "OPTIONS"], maxAge: 86400 }), async (c) => {
    const state = await checks();
    const ok = Object.values(state).every((v) => v !== "unavailable");
    // 200 either way: the instance itself is fine, and a platform probe that pulled instances out during
    // a shared outage would only make it worse. Monitors read `status`.
    return c.json({ ...health, status: ok ? "ok" : "degraded", checks: state }, 200, {
      "Cache-Control": "no-store",
    });
  });

  // The page Entra returns to after a user grants the server's Graph permission (see the consent link).
  app.get(CONSENT_COMPLETE_PATH, (c) => {
    const error = c.req.query("error");
    const granted = permissionsInState(c.req.query("state"));
    return c.html(consentCompletePage(error, granted), error ? 400 : 200, pageSecurityHeaders([]));
  });

  // The MCP endpoints (Streamable HTTP, and the legacy SSE pair): DNS-rebinding guards first, then size,
  // CORS, the token gate, then the SDK.
  const guards = transportGuards(config);
  app.use(MCP_PATH, ...guards, requireBearer(config, verifier));
  app.all(MCP_PATH, async (c) => {
    // Entra-direct mode: a tool's claims challenge (Conditional Access, CAE) is the client's to satisfy
    // with its own Entra sign-in, so the request is answered with Entra's 401 claims challenge; a
    // revoked sign-in (CAE "revoke sessions") with 401 invalid_token. Only a JSON answer can still be
    // replaced: a streamed one keeps the tool error, which carries the claims too.
    let stepUp: Failure | undefined;
    const onToolFailure: ToolFailureListener = (failure) => {
      if (failure.reason === "insufficient_claims" || failure.reason === "reauthenticate") stepUp ??= failure;
    };
    const verified = c.get("authInfo");
    const authInfo = { ...verified, extra: { ...verified.extra, onToolFailure } };
    const res = await services.mcp.fetch(c.req.raw, { authInfo });
    if (stepUp && config.authMode === "entra" && isJson(res)) {
      await res.body?.cancel();
      return challenge(config, stepUp);
    }
    return res;
  });
  // Legacy HTTP+SSE (2024-11-05): the same guards and token gate; challenges name the SSE resource.
  const sseGate = requireBearer(config, verifier, { resource: sseResource(config) });
  app.route("/", legacySseRoutes(services.sse, { guards, gate: sseGate }));

  /** Ends the SSE streams this instance holds (call it on shutdown, before closing the HTTP server). */
  const close = () => services.sse.close();
  return Object.assign(app, { close });
}

export type App = ReturnType<typeof createApp>;

/** Endpoints a person's browser opens (sign-in, consent): their failures are pages, not JSON. */
function isBrowserPath(path: string): boolean {
  return path === "/authorize" || path.startsWith("/authorize/") || path.startsWith("/oauth/");
}
