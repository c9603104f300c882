/**
 * `/register`: Dynamic Client Registration (RFC 7591), deprecated by MCP 2026-07-28 and kept for the
 * clients that still use it. Validated metadata, rate-limited per caller and overall; registrations
 * expire when unused. A client that asks for `client_secret_post` or `client_secret_basic` gets a
 * `client_secret` in this answer, the only time it is shown (the server keeps its hash); it is never logged.
 *
 * @module
 */
import type { Hono } from "hono";
import { telemetry } from "../../core/telemetry.ts";
import { parseClientMetadata } from "../clients/metadata.ts";
import { type AsContext, oauthJsonError } from "./context.ts";
import { OAUTH_PATHS } from "./metadata.ts";

/** Largest client metadata accepted, serialized (real clients send well under 2 KiB). */
export const MAX_CLIENT_METADATA_CHARS = 8 * 1024;

export function mountRegister(app: Hono, as: AsContext): void {
  app.post(OAUTH_PATHS.register, async (c) => {
    const limit = await as.limits.register.hit(as.callerAddress(c));
    if (!limit.allowed) {
      telemetry.rateLimitRefusal("register");
      as.logger.warn("register refused", { reason: "rate_limited" });
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
    const { record, secret } = await as.clients.register(parsed.value);
    // The sign-in's correlation id starts here; the client's first /authorize picks it up.
    const correlationId = await startSignIn(as, record.client_id);
    as.logger.info("client registered", {
      client: record.client_id,
      name: record.client_name,
      auth: record.token_endpoint_auth_method,
      correlationId,
    });
    const { source: _source, secretHash: _hash, ...metadata } = record;
    // RFC 7591 §3.2.1: client_secret_expires_at is required with a secret; 0 = the secret itself does not
    // expire (the registration does, when unused).
    const credentials = secret ? { client_secret: secret, client_secret_expires_at: 0 } : {};
    return c.json({ ...metadata, ...credentials, client_id_issued_at: Math.floor(as.now() / 1000) }, 201, {
      "Cache-Control": "no-store",
      Pragma: "no-cache",
    });
  });
}

/** How long a new registration's correlation id waits for the client's first `/authorize`. */
const SIGN_IN_TTL_SEC = 10 * 60;

/** A new correlation id for the sign-in that follows `clientId`'s registration. */
async function startSignIn(as: AsContext, clientId: string): Promise<string> {
  const correlationId = crypto.randomUUID();
  await as.store.put("signin", clientId, { correlationId }, { ttlSec: SIGN_IN_TTL_SEC });
  return correlationId;
}

/** The correlation id of a sign-in `clientId`'s registration started, or a new one. */
export async function signInCorrelationId(as: AsContext, clientId: string): Promise<string> {
  const started = await as.store.get<{ correlationId: string }>("signin", clientId);
  return started?.value.correlationId ?? crypto.randomUUID();
}
