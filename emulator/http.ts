// Small helpers shared by the three listeners.
import { randomUUID } from "node:crypto";
import type { Context } from "hono";
import { aadError } from "./errors.ts";
import type { State } from "./state.ts";

export const NO_STORE = { "Cache-Control": "no-store, no-cache", Pragma: "no-cache", Expires: "-1" };

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Entra-style error JSON with x-ms-request-id = trace_id, correlation id echoed; `status` overrides the code's own. */
export function entraErrorResponse(
  state: State,
  kind: string,
  code: number,
  params: Record<string, string>,
  correlationId: string | undefined,
  extraHeaders: Record<string, string> = {},
  status?: number,
): Response {
  const traceId = randomUUID();
  const err = aadError(code, params, {
    traceId,
    correlationId: correlationId || randomUUID(),
    now: state.now(),
  });
  state.countError(kind);
  return json(err.body, status ?? err.status, {
    ...NO_STORE,
    "x-ms-request-id": traceId,
    "x-ms-ests-server": "2.1.0 - emulator",
    "x-ms-clitelem": `1,${code},0,,`,
    ...extraHeaders,
  });
}

/** Reads an x-www-form-urlencoded body leniently (raw spaces, commas, pipes are fine). */
export async function readForm(c: Context): Promise<Record<string, string>> {
  const text = await c.req.text();
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(text)) if (!(k in out)) out[k] = v;
  return out;
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string,
  );
}

/** Entra's answer to an injected 5xx (AADSTS90033) or 429 (AADSTS90055), with `Retry-After` when given. */
export function entraFaultResponse(
  state: State,
  kind: string,
  status: number,
  retryAfter: number | undefined,
  correlationId: string | undefined,
): Response {
  const headers: Record<string, string> =
    retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) };
  return entraErrorResponse(state, kind, status === 429 ? 90055 : 90033, {}, correlationId, headers, status);
}
