/**
 * Errors of the authorization server (proxy mode), and the `Result` shape its validators return.
 *
 * Validators never throw on untrusted input. They return `Result<T>`: either `{ ok: true, value }` or
 * `{ ok: false, error: Rejection }`. A rejection carries three things, kept apart on purpose:
 *
 * - `code`: the RFC error code that goes on the wire (`invalid_redirect_uri`, `invalid_client_metadata`…);
 * - `description`: a sentence safe to send to the client, precise enough to fix the request;
 * - `reason` + `detail`: a stable tag and the full story for logs and metrics only. For the CIMD fetch
 *   this is where the resolved IP address or the upstream status goes: the wire never learns which
 *   internal check a probe tripped (the workers-oauth-provider `ema/result.ts` split).
 *
 * At the HTTP edge a rejection becomes an {@link AsError}, which *is* the SDK's `OAuthError`
 * (`toResponseObject()` gives `{ error, error_description }`), so route code handles one error type.
 * Misconfiguration (bad options passed by our own code) throws `TypeError` instead, never a coded error.
 *
 * @module
 */
import { OAuthError, OAuthErrorCode } from "@modelcontextprotocol/server";

export { OAuthError, OAuthErrorCode };

export interface Rejection {
  /** The wire error code (RFC 6749 §5.2, RFC 7591 §3.2.2). */
  code: OAuthErrorCode;
  /** Stable machine tag for logs and metrics, e.g. `forbidden_address`. */
  reason: string;
  /** Safe for the wire. */
  description: string;
  /** Logs only: may name internal addresses, upstream statuses, raw values. */
  detail?: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: Rejection };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function reject(
  code: OAuthErrorCode,
  reason: string,
  description: string,
  detail?: string,
): { ok: false; error: Rejection } {
  return { ok: false, error: { code, reason, description, detail } };
}

/** An `OAuthError` that also carries the log-only reason and detail of the rejection it came from. */
export class AsError extends OAuthError {
  readonly reason: string;
  readonly detail?: string;
  constructor(rejection: Rejection) {
    super(rejection.code, rejection.description);
    this.name = "AsError";
    this.reason = rejection.reason;
    this.detail = rejection.detail;
  }

  /** Fields for the structured logger (never includes secrets: validators put none in `detail`). */
  toLogFields(): Record<string, unknown> {
    return { error: this.code, reason: this.reason, description: this.message, detail: this.detail };
  }
}
