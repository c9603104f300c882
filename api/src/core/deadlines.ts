/**
 * How long the server waits for each thing it calls, and when it tries again. Every outbound call has a
 * deadline, chosen so that the slowest path of one MCP request (renewing the user's Entra sign-in, the
 * On-Behalf-Of exchange, then Graph) ends well inside the minute most MCP clients wait before giving up.
 * The README's "Deadlines and retries" table lists the same numbers.
 *
 * The retry rule is the same everywhere: at most one quick retry, only where repeating the call is safe
 * (the request was answered with a 5xx or 429 and had no effect, or the connection failed before an
 * answer), and only when the wait the upstream asks for (`Retry-After`) fits in what is left of the
 * deadline. Otherwise the caller gets a "try again shortly" failure that carries the upstream's delay.
 *
 * @module
 */

export const DEADLINES = {
  /** The On-Behalf-Of exchange, client assertion included, retry included. */
  oboMs: 15_000,
  /** Redeeming the authorization code at the callback. */
  codeRedemptionMs: 10_000,
  /** Renewing the user's Entra token with the stored refresh token. */
  upstreamRefreshMs: 10_000,
  /** One Microsoft Graph request. */
  graphMs: 15_000,
  /** One storage operation (Table Storage), the SDK's own retry included. */
  storageMs: 4_000,
  /** Fetching a client ID metadata document (DNS included). */
  cimdMs: 5_000,
  /** One reachability check for `/api/health`. */
  healthCheckMs: 2_000,
  /** The longest wait before the one retry: a longer `Retry-After` is passed on to the caller instead. */
  quickRetryMaxWaitMs: 2_000,
  /** The wait before the retry when the upstream names none. */
  quickRetryDelayMs: 250,
} as const;

/** What the caller is told to wait when a failing upstream names no delay, in seconds. */
export const DEFAULT_RETRY_AFTER_SEC = 5;

/** `Retry-After` in seconds (RFC 9110 §10.2.3: delay-seconds or an HTTP date), or `undefined`. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * Whether to retry once, and after how long: `undefined` means don't. `retryAfterSec` is what the upstream
 * asked for; `remainingMs` what is left of the deadline.
 */
export function quickRetryDelay(retryAfterSec: number | undefined, remainingMs: number): number | undefined {
  const wait = retryAfterSec === undefined ? DEADLINES.quickRetryDelayMs : retryAfterSec * 1000;
  if (wait > DEADLINES.quickRetryMaxWaitMs) return undefined;
  // The retry needs time of its own after the wait.
  if (wait + 1_000 > remainingMs) return undefined;
  return wait;
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
