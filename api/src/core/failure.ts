/**
 * The server's one error model: a closed list of reasons a request can fail for, and one table that
 * says how each is answered, as an HTTP status and an OAuth error code; `toolResult` gives the same
 * failure to an MCP client as a tool result. The table is a `Record` over the reasons, so a reason
 * added without its answer does not compile.
 *
 * Entra and Graph errors are turned into these reasons where they are caught (`entra/errors.ts`,
 * `graph/client.ts`); messages are written for the person who reads them, and never carry a token.
 * Raw upstream bodies stay in the logs.
 *
 * Validation of untrusted input in the authorization server keeps its own `Result` (a wire code per
 * RFC check, `authorization-server/errors.ts`); programming errors stay plain `Error`s (a 500).
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";

export type FailureReason =
  // The caller's bearer token (RFC 6750 §3.1).
  | "invalid_token"
  | "insufficient_scope"
  // A code or refresh token presented at the token endpoint (RFC 6749 §5.2).
  | "invalid_grant"
  | "invalid_scope"
  // A tool's input the schema could not check (a paging cursor this server did not give out).
  | "invalid_request"
  // The user must act: consent, an extra sign-in step, a new sign-in.
  | "consent_required"
  | "interaction_required"
  // Conditional Access or Continuous Access Evaluation asks for a sign-in that satisfies `claims`.
  | "insufficient_claims"
  | "reauthenticate"
  // Try again: now or after the given delay.
  | "throttled"
  | "upstream_unavailable"
  // The operator must act: the server's identity or app registration.
  | "server_misconfigured"
  | "upstream_error";

export interface Answer {
  status: 400 | 401 | 403 | 429 | 500 | 502 | 503;
  /** The OAuth error code at the token endpoint and the bearer gate (RFC 6749 §5.2; RFC 6750 §3.1). */
  oauthError: string;
  /** The error code in an authorization response to the client (RFC 6749 §4.1.2.1; OIDC Core §3.1.2.6). */
  redirectError: string;
}

export const ANSWERS: Readonly<Record<FailureReason, Answer>> = {
  invalid_token: { status: 401, oauthError: "invalid_token", redirectError: "access_denied" },
  insufficient_scope: { status: 403, oauthError: "insufficient_scope", redirectError: "invalid_scope" },
  invalid_grant: { status: 400, oauthError: "invalid_grant", redirectError: "access_denied" },
  invalid_scope: { status: 400, oauthError: "invalid_scope", redirectError: "invalid_scope" },
  invalid_request: { status: 400, oauthError: "invalid_request", redirectError: "invalid_request" },
  consent_required: { status: 403, oauthError: "consent_required", redirectError: "consent_required" },
  interaction_required: {
    status: 403,
    oauthError: "interaction_required",
    redirectError: "interaction_required",
  },
  // Entra's claims challenge (claims-challenge guidance): 401 with error="insufficient_claims" and the claims.
  insufficient_claims: {
    status: 401,
    oauthError: "insufficient_claims",
    redirectError: "interaction_required",
  },
  reauthenticate: { status: 401, oauthError: "invalid_token", redirectError: "login_required" },
  throttled: { status: 429, oauthError: "temporarily_unavailable", redirectError: "temporarily_unavailable" },
  upstream_unavailable: {
    status: 503,
    oauthError: "temporarily_unavailable",
    redirectError: "temporarily_unavailable",
  },
  server_misconfigured: { status: 500, oauthError: "server_error", redirectError: "server_error" },
  upstream_error: { status: 502, oauthError: "server_error", redirectError: "server_error" },
};

export class Failure extends Error {
  readonly reason: FailureReason;
  /** Where the user can fix it (a consent link), when there is one. */
  readonly url?: string;
  readonly retryAfterSec?: number;
  /** The claims challenge (JSON) a new sign-in must satisfy, for `insufficient_claims`. */
  readonly claims?: string;
  /** Facts for the logs only (never a token). */
  readonly log?: Record<string, unknown>;
  constructor(
    reason: FailureReason,
    message: string,
    opts: {
      url?: string;
      retryAfterSec?: number;
      claims?: string;
      log?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "Failure";
    this.reason = reason;
    this.url = opts.url;
    this.retryAfterSec = opts.retryAfterSec;
    this.claims = opts.claims;
    this.log = opts.log;
  }
}

/** A failure as the tool result an MCP client shows: the message, and the reason for programs. */
export function toolResult(failure: Failure): CallToolResult {
  return {
    isError: true,
    content: [{ type: "text", text: failure.message }],
    structuredContent: {
      error: failure.reason,
      message: failure.message,
      ...(failure.url ? { url: failure.url } : {}),
      ...(failure.retryAfterSec ? { retryAfter: failure.retryAfterSec } : {}),
      ...(failure.claims ? { claims: failure.claims } : {}),
    },
  };
}

/** `{ error, error_description }`, the OAuth error body (RFC 6749 §5.2). */
export function oauthErrorBody(failure: Failure): { error: string; error_description: string } {
  return { error: ANSWERS[failure.reason].oauthError, error_description: failure.message };
}
