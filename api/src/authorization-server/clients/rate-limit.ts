/**
 * Fixed-window rate limiting for the open endpoints of the authorization server: `/register` (every
 * request writes a client record), `/authorize` (every request writes a pending row and may fetch a
 * client metadata document), `/token`, and the metadata document fetches per host.
 *
 * Budgets are per caller, keyed on an address the caller cannot set (`callerKey`): the socket's peer,
 * or the address the platform's front end saw; an IPv6 caller is its /64, since one host holds a whole
 * /64. Each per-caller budget is smaller than the overall one, so no single caller can spend everyone
 * else's; a request refused per caller does not count against the overall budget.
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
import type { Context } from "hono";
import { parseIpv4, parseIpv6 } from "./ip.ts";

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

/** One endpoint's budgets: every per-caller window must allow, then the overall one (if any). */
export interface Budget {
  perCaller: FixedWindow[];
  overall?: FixedWindow;
}

export interface AbuseBudgets {
  /** `/register`: 10 a minute and 30 an hour per caller; 1000 an hour overall. */
  register: Budget;
  /** `/authorize`: 60 a minute and 600 an hour per caller. */
  authorize: Budget;
  /** `/token` and `/revoke`: 120 a minute per caller. */
  token: Budget;
  /** Client ID Metadata Document fetches (cache misses), per document host: 10 a minute. */
  cimdHost: Budget;
}

export const DEFAULT_BUDGETS: AbuseBudgets = {
  register: {
    perCaller: [
      { limit: 10, windowSec: 60 },
      { limit: 30, windowSec: 3600 },
    ],
    overall: { limit: 1000, windowSec: 3600 },
  },
  authorize: {
    perCaller: [
      { limit: 60, windowSec: 60 },
      { limit: 600, windowSec: 3600 },
    ],
  },
  token: { perCaller: [{ limit: 120, windowSec: 60 }] },
  cimdHost: { perCaller: [{ limit: 10, windowSec: 60 }] },
};

export type AbuseLimits = Record<keyof AbuseBudgets, RateLimiter>;

/** A budget as one limiter: the caller's windows in order, then the overall window. */
export function createBudgetLimiter(
  name: string,
  budget: Budget,
  deps: { increment: Increment; now?: () => number },
): RateLimiter {
  const { increment, now } = deps;
  const perCaller = budget.perCaller.map((w, i) =>
    createFixedWindowLimiter({ increment, now, name: `${name}:c${i}`, ...w }),
  );
  const overall = budget.overall
    ? createFixedWindowLimiter({ increment, now, name: `${name}:all`, ...budget.overall })
    : undefined;
  return {
    async hit(key) {
      for (const limiter of perCaller) {
        const d = await limiter.hit(key);
        if (!d.allowed) return d;
      }
      return overall ? overall.hit("*") : { allowed: true, retryAfterSec: 0 };
    },
  };
}

/** Every endpoint's limiter; `budgets` replaces the defaults endpoint by endpoint. */
export function createAbuseLimits(deps: {
  increment: Increment;
  now?: () => number;
  budgets?: Partial<AbuseBudgets>;
}): AbuseLimits {
  const budgets = { ...DEFAULT_BUDGETS, ...deps.budgets };
  return {
    register: createBudgetLimiter("register", budgets.register, deps),
    authorize: createBudgetLimiter("authorize", budgets.authorize, deps),
    token: createBudgetLimiter("token", budgets.token, deps),
    cimdHost: createBudgetLimiter("cimd", budgets.cimdHost, deps),
  };
}

/**
 * The rate-limit key for a caller's address: an IPv4 address as is (also when written IPv4-mapped), an
 * IPv6 address as its /64 prefix, a trailing `:port` dropped (Azure's front end writes `IP:port`), and
 * anything else as one shared `unknown` key.
 */
export function callerKey(address: string | undefined): string {
  let a = (address ?? "").trim();
  if (!a) return "unknown";
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1];
  else if (/^[0-9.]+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  if (parseIpv4(a) !== undefined) return a;
  const w = parseIpv6(a);
  if (!w) return "unknown";
  if (w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff)
    return `${w[6] >>> 8}.${w[6] & 255}.${w[7] >>> 8}.${w[7] & 255}`;
  return `${w
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(":")}::/64`;
}

/** How a host tells who is calling. */
export type CallerAddress = (c: Context) => string | undefined;

/** The Node host: the TCP peer of the request's socket (`@hono/node-server` passes it as `env.incoming`). */
export const socketAddress: CallerAddress = (c) =>
  (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket
    ?.remoteAddress;

/**
 * Azure Functions: the platform's front end appends the peer it saw, as `IP:port`, as the last
 * `X-Forwarded-For` hop; earlier hops are whatever the caller sent, so only the last one is read.
 * `callerKey` drops the port.
 */
export const frontEndAddress: CallerAddress = (c) =>
  c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim().slice(0, 64);
