/**
 * Protected Resource Metadata (RFC 9728), served at the path-inserted URL clients build from the MCP
 * URL, at the root well-known URL, and for the legacy SSE endpoint's own identifier.
 *
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { Config } from "../config/config.ts";
import { MCP_PATH, PRM_PATH, SSE_PATH, sseResource } from "../config/paths.ts";
import { protectedResourceMetadata } from "./gate.ts";

export function protectedResourceRoutes(config: Config, authorizationServerUrl: string): Hono {
  const app = new Hono();
  // Public metadata: readable from any origin (browser-based clients discover through it).
  const publicCors = cors({ origin: "*", allowMethods: ["GET", "OPTIONS"], maxAge: 86400 });
  const prm = protectedResourceMetadata(config, authorizationServerUrl);
  // RFC 9728: both the path-inserted URL clients build from the MCP URL and the root URL.
  app.use(`${PRM_PATH}/*`, publicCors);
  app.use(PRM_PATH, publicCors);
  app.get(`${PRM_PATH}${MCP_PATH}`, (c) => c.json(prm));
  app.get(PRM_PATH, (c) => c.json(prm));
  // The legacy SSE endpoint's own identifier for the same resource (see `sseResource`).
  const ssePrm = protectedResourceMetadata(config, authorizationServerUrl, sseResource(config));
  app.get(`${PRM_PATH}${SSE_PATH}`, (c) => c.json(ssePrm));
  return app;
}
