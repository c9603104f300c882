// Fault controls: make an endpoint answer 5xx, 429 with Retry-After, hang, or reset the connection,
// N times or until cleared. Shared by the in-process API (`emulator.faults`), the admin endpoint
// (emulator/admin.ts) and the CLI's `--fault` flags. See emulator/README.md, "Fault controls".
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";
import type { Context } from "hono";

/** Where a fault applies. `graph:/v1.0/me/photo/$value` names one Graph path (query ignored). */
export type FaultTarget =
  | "token"
  | "token.authorization_code"
  | "token.refresh_token"
  | "token.obo"
  | "token.client_credentials"
  | "discovery"
  | "jwks"
  | "authorize"
  | "mi"
  | "graph"
  | "graph.me"
  | "graph.photo"
  | "graph.messages"
  | "graph.calendarView"
  | "graph.people"
  | `graph:/${string}`;

export const FAULT_TARGETS: readonly string[] = [
  "token",
  "token.authorization_code",
  "token.refresh_token",
  "token.obo",
  "token.client_credentials",
  "discovery",
  "jwks",
  "authorize",
  "mi",
  "graph",
  "graph.me",
  "graph.photo",
  "graph.messages",
  "graph.calendarView",
  "graph.people",
];

/** A 5xx status, 429, "hang" (no answer until the client gives up or the fault is cleared) or "reset". */
export type FaultAnswer = number | "hang" | "reset";

export interface FaultSpec {
  target: FaultTarget;
  answer: FaultAnswer;
  /** Seconds for the `Retry-After` header: 429 always carries one (default 60), a 5xx only when set. */
  retryAfter?: number;
  /** How many requests get the fault; absent = every request until cleared. */
  times?: number;
}

export interface FaultInfo {
  id: string;
  target: FaultTarget;
  answer: FaultAnswer;
  retryAfter?: number;
  /** Requests still to be faulted (null: until cleared). */
  remaining: number | null;
  /** Requests faulted so far. */
  hits: number;
  /** Requests held open by a "hang" fault right now. */
  hanging: number;
}

export const DEFAULT_RETRY_AFTER = 60;

/** Validates a spec from the admin endpoint, the CLI or a test; throws a readable Error. */
export function checkFaultSpec(input: unknown): FaultSpec {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new Error("a fault is an object: {target, answer, retryAfter?, times?}");
  }
  const o = input as Record<string, unknown>;
  const known = new Set(["target", "answer", "retryAfter", "times"]);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new Error(`unknown fault field '${k}'`);
  const target = o.target;
  if (typeof target !== "string" || !(FAULT_TARGETS.includes(target) || /^graph:\/[^\s?#]*$/.test(target))) {
    throw new Error(
      `target must be one of ${FAULT_TARGETS.join(", ")} or graph:/<path>; got ${String(target)}`,
    );
  }
  const answer = o.answer;
  const okAnswer =
    answer === "hang" ||
    answer === "reset" ||
    answer === 429 ||
    (Number.isInteger(answer) && (answer as number) >= 500 && (answer as number) <= 599);
  if (!okAnswer)
    throw new Error(`answer must be 429, a 5xx status, "hang" or "reset"; got ${String(answer)}`);
  const spec: FaultSpec = { target: target as FaultTarget, answer: answer as FaultAnswer };
  if (o.retryAfter !== undefined) {
    if (!Number.isInteger(o.retryAfter) || (o.retryAfter as number) < 0 || (o.retryAfter as number) > 86400) {
      throw new Error("retryAfter must be whole seconds between 0 and 86400");
    }
    if (typeof answer !== "number") throw new Error("retryAfter goes with a 429 or 5xx answer");
    spec.retryAfter = o.retryAfter as number;
  }
  if (o.times !== undefined) {
    if (!Number.isInteger(o.times) || (o.times as number) < 1)
      throw new Error("times must be a whole number ≥ 1");
    spec.times = o.times as number;
  }
  return spec;
}

/**
 * The CLI form: `<target>=<answer>[,times=N][,retry-after=S]`, e.g. `token.obo=503`,
 * `token.refresh_token=429,retry-after=5,times=2`, `graph:/v1.0/me=hang`, `mi=reset,times=1`.
 */
export function parseFaultFlag(flag: string): FaultSpec {
  const eq = flag.indexOf("=");
  if (eq < 1) throw new Error(`--fault ${flag}: expected <target>=<answer>[,times=N][,retry-after=S]`);
  const [answerText, ...opts] = flag.slice(eq + 1).split(",");
  const spec: Record<string, unknown> = {
    target: flag.slice(0, eq),
    answer: /^\d+$/.test(answerText) ? Number(answerText) : answerText,
  };
  for (const opt of opts) {
    const [k, v = ""] = opt.split("=");
    const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (k === "times") spec.times = n;
    else if (k === "retry-after") spec.retryAfter = n;
    else throw new Error(`--fault ${flag}: unknown option '${k}' (times, retry-after)`);
  }
  try {
    return checkFaultSpec(spec);
  } catch (err) {
    throw new Error(`--fault ${flag}: ${(err as Error).message}`);
  }
}

interface Rule extends FaultInfo {
  release: Set<() => void>;
}

/** The fault table: first matching active rule wins, in the order the faults were added. */
export class FaultSet {
  private rules: Rule[] = [];

  add(input: FaultSpec): FaultInfo {
    const spec = checkFaultSpec(input);
    const rule: Rule = {
      id: randomUUID(),
      target: spec.target,
      answer: spec.answer,
      ...(spec.retryAfter !== undefined ? { retryAfter: spec.retryAfter } : {}),
      remaining: spec.times ?? null,
      hits: 0,
      hanging: 0,
      release: new Set(),
    };
    this.rules.push(rule);
    return info(rule);
  }

  list(): FaultInfo[] {
    return this.rules.map(info);
  }

  /** Removes one fault (or all); requests it holds open carry on and get their normal answer. */
  clear(id?: string): number {
    const gone = this.rules.filter((r) => id === undefined || r.id === id);
    this.rules = this.rules.filter((r) => !gone.includes(r));
    for (const r of gone) for (const release of r.release) release();
    return gone.length;
  }

  /** The fault for this request, if any, counting the hit. `kind` as in counts(); `path` for Graph. */
  take(kind: string, path?: string): Readonly<Rule> | undefined {
    const p = path?.replace(/\/+$/, "").toLowerCase();
    const rule = this.rules.find(
      (r) =>
        r.remaining !== 0 &&
        (r.target.startsWith("graph:/")
          ? kind.startsWith("graph.") && p === r.target.slice(6).replace(/\/+$/, "").toLowerCase()
          : kind === r.target || kind.startsWith(`${r.target}.`)),
    );
    if (!rule) return undefined;
    rule.hits++;
    if (rule.remaining !== null) rule.remaining--;
    // Counted as hanging at once, so a spent hang fault stays listed (and clearable) while it holds requests.
    if (rule.answer === "hang") rule.hanging++;
    this.prune();
    return rule;
  }

  /** Holds a request taken by a "hang" fault until the fault is cleared or the client goes away. */
  hold(rule: Readonly<Rule>, signal: AbortSignal): Promise<"released" | "gone"> {
    const r = rule as Rule;
    return new Promise((resolve) => {
      const done = (how: "released" | "gone") => {
        r.release.delete(onRelease);
        signal.removeEventListener("abort", onAbort);
        r.hanging--;
        this.prune();
        resolve(how);
      };
      const onRelease = () => done("released");
      const onAbort = () => done("gone");
      if (signal.aborted) {
        done("gone");
        return;
      }
      r.release.add(onRelease);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Spent faults leave the table once they hold no request open. */
  private prune(): void {
    this.rules = this.rules.filter((r) => r.remaining !== 0 || r.hanging > 0);
  }
}

function info(r: Rule): FaultInfo {
  const { release: _release, ...rest } = r;
  return { ...rest };
}

/**
 * Drops the request's connection without an answer: a TCP RST on the plain-HTTP listeners; on the
 * HTTPS ones an abrupt close with no TLS close_notify (Node cannot send a RST under a TLS socket
 * without corrupting the HTTP server's connection list). Clients report both as a reset connection.
 */
export function resetConnection(c: Context): void {
  const socket = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;
  if (!socket) return;
  if (socket instanceof TLSSocket) socket.destroy();
  else socket.resetAndDestroy();
}

/**
 * Applies the matching fault, if any. Returns the response to send (an error, or nothing for a
 * reset or a client that gave up), or null to answer normally (no fault, or a hang was cleared).
 */
export async function applyFault(
  faults: FaultSet,
  c: Context,
  kind: string,
  render: (status: number, retryAfter: number | undefined) => Response,
  path?: string,
): Promise<Response | null> {
  const rule = faults.take(kind, path);
  if (!rule) return null;
  if (rule.answer === "reset") {
    resetConnection(c);
    return new Response(null, { status: 500 });
  }
  if (rule.answer === "hang") {
    const how = await faults.hold(rule, c.req.raw.signal);
    return how === "released" ? null : new Response(null, { status: 500 });
  }
  const retryAfter = rule.answer === 429 ? (rule.retryAfter ?? DEFAULT_RETRY_AFTER) : rule.retryAfter;
  return render(rule.answer, retryAfter);
}

export const retryAfterHeader = (s: number | undefined): Record<string, string> =>
  s === undefined ? {} : { "Retry-After": String(s) };
