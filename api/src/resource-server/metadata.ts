/**
 * Protected Resource Metadata (RFC 9728), served at the path-inserted URL clients build from the MCP
 * URL, at the root well-known URL, and for the legacy SSE endpoint's own identifier.
 *
 * @module
 */
import { buildOAuthProtectedResourceMetadata, type OAuthMetadata } from "@modelcontextprotocol/server";
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { Config } from "../config/config.ts";
import { MCP_PATH, PRM_PATH, SSE_PATH, sseResource } from "../config/paths.ts";
import { challengeScope } from "./gate.ts";

/** What the metadata names of the authorization server: the SDK checks its issuer (https off loopback). */
export type AuthorizationServerFacts = Pick<
  OAuthMetadata,
  "issuer" | "authorization_endpoint" | "token_endpoint" | "response_types_supported"
>;

export function protectedResourceMetadata(
  config: Config,
  authorizationServer: AuthorizationServerFacts,
  resource = config.resource,
) {
  return {
    ...buildOAuthProtectedResourceMetadata({
      oauthMetadata: authorizationServer,
      resourceServerUrl: new URL(resource),
      // 2026-07-28: no offline_access here; clients add it when the AS lists it.
      scopesSupported: [challengeScope(config)],
      resourceName: "Microsoft Graph for MCP (Entra ID)",
    }),
    // RFC 9728 §2: the SDK leaves this out; this server takes bearer tokens in the header only.
    bearer_methods_supported: ["header"],
  };
}

export function protectedResourceRoutes(config: Config, authorizationServer: AuthorizationServerFacts): Hono {
  const app = new Hono();
  // Public metadata: readable from any origin (browser-based clients discover through it).
  const publicCors = cors({ origin: "*", allowMethods: ["GET", "OPTIONS"], maxAge: 86400 });
  const prm = protectedResourceMetadata(config, authorizationServer);
  // RFC 9728: both the path-inserted URL clients build from the MCP URL and the root URL.
  app.use(`${PRM_PATH}/*`, publicCors);
  app.use(PRM_PATH, publicCors);
  app.get(`${PRM_PATH}${MCP_PATH}`, (c) => c.json(prm));
  app.get(PRM_PATH, (c) => c.json(prm));
  // The legacy SSE endpoint's own identifier for the same resource (see `sseResource`).
  const ssePrm = protectedResourceMetadata(config, authorizationServer, sseResource(config));
  app.get(`${PRM_PATH}${SSE_PATH}`, (c) => c.json(ssePrm));
  return app;
}
