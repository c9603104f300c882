/**
 * Failures a tool can report to the user, with what to do about them.
 *
 * Entra and Graph errors are mapped here to messages a person can act on. Raw upstream bodies stay in
 * the logs (never tokens); the client sees the AADSTS code and the remedy.
 *
 * @module
 */

export type ToolFailureKind =
  | "consent_required"
  | "interaction_required"
  | "reauthenticate"
  | "throttled"
  | "upstream_unavailable"
  | "server_misconfigured"
  | "upstream_error";

export class ToolFailure extends Error {
  readonly kind: ToolFailureKind;
  /** Where the user can fix it (a consent link), when there is one. */
  readonly url?: string;
  readonly retryAfterSec?: number;
  constructor(
    kind: ToolFailureKind,
    message: string,
    opts: { url?: string; retryAfterSec?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "ToolFailure";
    this.kind = kind;
    this.url = opts.url;
    this.retryAfterSec = opts.retryAfterSec;
  }
}

/** The first `AADSTSnnnn` code in an error's message or response, if any. */
export function aadstsCode(err: unknown): number | undefined {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const text = `${(e as { message?: string }).message ?? ""} ${JSON.stringify((e as { errorResponse?: unknown }).errorResponse ?? "")}`;
    const m = /AADSTS(\d{4,7})/.exec(text);
    if (m) return Number(m[1]);
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
