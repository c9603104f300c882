/**
 * Fixed-window rate limiting for the open endpoints of the authorization server (`/register` first:
 * dynamic registration is unauthenticated, so every request writes a client record).
 *
 * A limiter is written against one primitive, `increment(key, windowSec)`: add one to a counter that
 * expires `windowSec` after it was created, and return the new value. The in-memory version below
 * serves one process; a store-backed one (shared across instances) only has to provide the same
 * function. The window index is part of the key, so a counter never needs resetting, only expiring.
 *
 * Fixed windows allow up to twice the limit across a window boundary; that is fine for abuse control.
 *
 * @module
 */

export interface RateLimitDecision {
  allowed: boolean;
  /** Seconds until the window that refused the request ends; 0 when allowed. */
  retryAfterSec: number;
}

export interface RateLimiter {
  hit(key: string): Promise<RateLimitDecision>;
}

/** Adds one to the counter `key` (created with a `windowSec` lifetime) and returns the new count. */
export type Increment = (key: string, windowSec: number) => Promise<number>;

export interface FixedWindow {
  /** Requests allowed per window. */
  limit: number;
  windowSec: number;
}

export interface FixedWindowLimiterOptions extends FixedWindow {
  increment: Increment;
  /** Prefix of every counter key, so limiters sharing a store do not collide. */
  name: string;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

function checkWindow(where: string, { limit, windowSec }: FixedWindow) {
  if (!Number.isInteger(limit) || limit < 0)
    throw new TypeError(`${where}: limit must be a non-negative integer`);
  if (!Number.isInteger(windowSec) || windowSec <= 0)
    throw new TypeError(`${where}: windowSec must be a positive integer`);
}

export function createFixedWindowLimiter(options: FixedWindowLimiterOptions): RateLimiter {
  const { increment, name, limit, windowSec, now = Date.now } = options;
  checkWindow("createFixedWindowLimiter", options);
  const windowMs = windowSec * 1000;
  return {
    async hit(key) {
      const t = now();
      const index = Math.floor(t / windowMs);
      const count = await increment(`${name}:${key}:${index}`, windowSec);
      if (count <= limit) return { allowed: true, retryAfterSec: 0 };
      const windowEnd = (index + 1) * windowMs;
      return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((windowEnd - t) / 1000)) };
    },
  };
}

export interface RegistrationLimitOptions {
  increment: Increment;
  now?: () => number;
  /** Per client IP. Default 10 per minute. */
  perIp?: FixedWindow;
  /** All callers together. Default 200 per hour. */
  overall?: FixedWindow;
}

/**
 * The `/register` policy: a per-IP window, then an overall window. A request refused per IP does not
 * count against the overall budget, so one noisy address cannot lock everyone else out.
 * `hit(ip)` takes the caller's address as the host reports it.
 */
export function createRegistrationRateLimiter(options: RegistrationLimitOptions): RateLimiter {
  const { increment, now } = options;
  const perIp = options.perIp ?? { limit: 10, windowSec: 60 };
  const overall = options.overall ?? { limit: 200, windowSec: 3600 };
  const ipLimiter = createFixedWindowLimiter({ increment, now, name: "register:ip", ...perIp });
  const allLimiter = createFixedWindowLimiter({ increment, now, name: "register:all", ...overall });
  return {
    async hit(ip) {
      const byIp = await ipLimiter.hit(ip);
      if (!byIp.allowed) return byIp;
      return allLimiter.hit("*");
    },
  };
}
