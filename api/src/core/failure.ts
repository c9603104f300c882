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
import { DEFAULT_RETRY_AFTER_SEC } from "./deadlines.ts";
import { escapeHtml } from "./html.ts";
import { page, pageSecurityHeaders } from "./page.ts";

export type FailureReason =
  // The caller's bearer token (RFC 6750 §3.1).
  | "invalid_token"
  | "insufficient_scope"
  // The client at the token or revocation endpoint: unknown, expired, or its secret is wrong (RFC 6749 §5.2).
  | "invalid_client"
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
  | "storage_unavailable"
  // The operator must act: the server's identity or app registration.
  | "server_misconfigured"
  | "upstream_error";

export interface Answer {
  status: 400 | 401 | 403 | 429 | 500 | 502 | 503;
  /** The OAuth error code at the token endpoint and the bearer gate (RFC 6749 §5.2; RFC 6750 §3.1). */
  oauthError: string;
  /** The error code in an authorization response to the client (RFC 6749 §4.1.2.1; OIDC Core §3.1.2.6). */
  redirectError: string;
  /** Try again: the answer carries `Retry-After` (the failure's own delay, else `DEFAULT_RETRY_AFTER_SEC`). */
  retry?: true;
}

export const ANSWERS: Readonly<Record<FailureReason, Answer>> = {
  invalid_token: { status: 401, oauthError: "invalid_token", redirectError: "access_denied" },
  insufficient_scope: { status: 403, oauthError: "insufficient_scope", redirectError: "invalid_scope" },
  invalid_client: { status: 401, oauthError: "invalid_client", redirectError: "unauthorized_client" },
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
  throttled: {
    status: 429,
    oauthError: "temporarily_unavailable",
    redirectError: "temporarily_unavailable",
    retry: true,
  },
  upstream_unavailable: {
    status: 503,
    oauthError: "temporarily_unavailable",
    redirectError: "temporarily_unavailable",
    retry: true,
  },
  storage_unavailable: {
    status: 503,
    oauthError: "temporarily_unavailable",
    redirectError: "temporarily_unavailable",
    retry: true,
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

/** Seconds to wait before trying again, for a failure that is worth retrying; `undefined` otherwise. */
export function retryAfterOf(failure: Failure): number | undefined {
  if (!ANSWERS[failure.reason].retry) return undefined;
  return Math.max(1, Math.ceil(failure.retryAfterSec ?? DEFAULT_RETRY_AFTER_SEC));
}

/** The HTTP headers that go with a failure's answer: `Retry-After` when it is worth retrying. */
export function failureHeaders(failure: Failure): Record<string, string> {
  const after = retryAfterOf(failure);
  return after === undefined ? {} : { "Retry-After": String(after) };
}

/** Failures that pass by themselves: the same request can succeed later, with nothing for anyone to fix. */
export function isTransient(err: unknown): err is Failure {
  return err instanceof Failure && ANSWERS[err.reason].retry === true;
}

/** A failure as the tool result an MCP client shows: the message, and the reason for programs. */
export function toolResult(failure: Failure): CallToolResult {
  const retryAfter = retryAfterOf(failure);
  return {
    isError: true,
    content: [{ type: "text", text: failure.message }],
    structuredContent: {
      error: failure.reason,
      message: failure.message,
      ...(failure.url ? { url: failure.url } : {}),
      ...(retryAfter !== undefined ? { retryAfter } : {}),
      ...(failure.claims ? { claims: failure.claims } : {}),
    },
  };
}

/** `{ error, error_description }`, the OAuth error body (RFC 6749 §5.2). */
export function oauthErrorBody(failure: Failure): { error: string; error_description: string } {
  return { error: ANSWERS[failure.reason].oauthError, error_description: failure.message };
}

/** Page titles for failures a person meets in the browser (sign-in, consent). */
const PAGE_TITLES: Partial<Record<FailureReason, string>> = {
  upstream_unavailable: "Try again shortly",
  storage_unavailable: "Try again shortly",
  throttled: "Try again shortly",
  server_misconfigured: "The server needs attention",
};

/**
 * A failure as a whole HTTP answer: the status from `ANSWERS`, `Retry-After` when it is worth retrying,
 * and a page for browser endpoints (sign-in, consent) or the OAuth error JSON for API endpoints.
 */
export function failureResponse(failure: Failure, opts: { page: boolean }): Response {
  const { status } = ANSWERS[failure.reason];
  const headers = { "Cache-Control": "no-store", ...failureHeaders(failure) };
  if (!opts.page) return Response.json(oauthErrorBody(failure), { status, headers });
  const after = retryAfterOf(failure);
  const body =
    `<p>${escapeHtml(failure.message)}</p>` +
    (after !== undefined ? `<p>Reload this page in ${after} seconds to continue.</p>` : "");
  return new Response(page(PAGE_TITLES[failure.reason] ?? "Something went wrong", body), {
    status,
    headers: { "content-type": "text/html; charset=utf-8", ...pageSecurityHeaders([]), ...headers },
  });
}
