/**
 * `/register`: Dynamic Client Registration (RFC 7591), deprecated by MCP 2026-07-28 and kept for the
 * clients that still use it. Public clients only, validated metadata, rate-limited per caller and
 * overall; registrations expire when unused.
 *
 * @module
 */
import type { Hono } from "hono";
import { parseClientMetadata } from "../clients/metadata.ts";
import { type AsContext, oauthJsonError } from "./context.ts";
import { OAUTH_PATHS } from "./metadata.ts";

/** Largest client metadata accepted, serialized (real clients send well under 2 KiB). */
export const MAX_CLIENT_METADATA_CHARS = 8 * 1024;

export function mountRegister(app: Hono, as: AsContext): void {
  app.post(OAUTH_PATHS.register, async (c) => {
    const limit = await as.limits.register.hit(as.callerAddress(c));
    if (!limit.allowed) {
      return oauthJsonError(c, 429, "too_many_requests", "Too many registrations; try again later.", {
        "Retry-After": String(limit.retryAfterSec),
      });
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return oauthJsonError(
        c,
        400,
        "invalid_client_metadata",
        "The registration request must be a JSON object.",
      );
    }
    // Everything registered is kept in one row: refuse what could not be stored, with a 400, not a 500.
    if (JSON.stringify(body).length > MAX_CLIENT_METADATA_CHARS) {
      return oauthJsonError(
        c,
        400,
        "invalid_client_metadata",
        `The client metadata exceeds ${MAX_CLIENT_METADATA_CHARS} characters.`,
      );
    }
    const parsed = parseClientMetadata(body);
    if (!parsed.ok) {
      as.logger.warn("register refused", { reason: parsed.error.reason, detail: parsed.error.detail });
      return oauthJsonError(c, 400, parsed.error.code, parsed.error.description);
    }
    const record = await as.clients.register(parsed.value);
    as.logger.info("client registered", { client: record.client_id, name: record.client_name });
    const { source: _source, ...metadata } = record;
    return c.json({ ...metadata, client_id_issued_at: Math.floor(as.now() / 1000) }, 201, {
      "Cache-Control": "no-store",
    });
  });
}
