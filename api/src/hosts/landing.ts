/**
 * The landing page (`app/`) on the Node host, so a person who opens the local server's URL sees it.
 * On Azure a Static Web App serves `app/` and the Function App serves only the API; locally `npm start`
 * serves both from one origin. The Functions host never imports this file.
 *
 * - Static files from `app/` for GET/HEAD outside `/api/`, with the same response headers (CSP and
 *   friends) that `staticwebapp.config.json` gives them on Static Web Apps.
 * - `/config.json` tells the page that this origin also serves the API and that Static Web Apps
 *   sign-in (`/.auth/*`) is not available here. On Azure the azd hook writes that file instead.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";
import type { Config } from "../config/config.ts";

export interface LandingOptions {
  /** The folder with index.html. */
  appDir: string;
  /** staticwebapp.config.json, for its `globalHeaders`. */
  swaConfigPath?: string;
}

/** Reads `globalHeaders` from staticwebapp.config.json; none when the file is missing or unreadable. */
export function swaGlobalHeaders(path: string | undefined): Record<string, string> {
  if (!path) return {};
  try {
    const json = JSON.parse(readFileSync(path, "utf8")) as { globalHeaders?: Record<string, unknown> };
    return Object.fromEntries(
      Object.entries(json.globalHeaders ?? {}).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
  } catch {
    return {};
  }
}

/** A handler that answers for the landing page's files, or returns undefined for everything else. */
export function createLandingSite(config: Config, opts: LandingOptions) {
  const headers = swaGlobalHeaders(opts.swaConfigPath);
  const site = new Hono();
  site.use("*", async (c, next) => {
    await next();
    if (c.res.status === 404) return;
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    // Local files change while you work on them.
    c.res.headers.set("Cache-Control", "no-cache");
  });
  site.get("/config.json", (c) => c.json({ authMode: config.authMode, staticWebAppsAuth: false }));
  site.use("*", serveStatic({ root: opts.appDir }));
  site.notFound((c) => c.body(null, 404));

  return async function landing(req: Request): Promise<Response | undefined> {
    if (req.method !== "GET" && req.method !== "HEAD") return undefined;
    if (new URL(req.url).pathname.startsWith("/api/")) return undefined;
    const res = await site.fetch(req);
    return res.status === 404 ? undefined : res;
  };
}
