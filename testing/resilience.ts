/**
 * What the resilience tests ask of a Graph tool call made while a fault is in place: the answer, its
 * status and how long it took, and the two verdicts a user sees (try again shortly; works again).
 *
 * @module
 */
import assert from "node:assert/strict";
import { rpcResult, toolCall } from "./mcp-request.ts";

export interface TimedToolCall {
  status: number;
  result?: {
    isError?: boolean;
    structuredContent?: Record<string, unknown>;
    content?: Array<{ text?: string }>;
  };
  ms: number;
  text: string;
}

/** Calls `get_graph_user_details` at `mcpUrl` with `accessToken`. */
export async function timedGraphTool(mcpUrl: string, accessToken: string): Promise<TimedToolCall> {
  const started = Date.now();
  const { headers, body } = toolCall("get_graph_user_details");
  const res = await fetch(mcpUrl, {
    method: "POST",
    headers: { ...headers, authorization: `Bearer ${accessToken}` },
    body,
  });
  const status = res.status;
  const rpc = status === 200 ? await rpcResult(res) : undefined;
  const result = rpc?.result as TimedToolCall["result"];
  return { status, result, ms: Date.now() - started, text: result?.content?.[0]?.text ?? "" };
}

/** A transient failure, told as one: try again, with a delay, never "sign in again". */
export function assertTryAgain(r: TimedToolCall, what: RegExp): void {
  assert.equal(r.status, 200);
  assert.equal(r.result?.isError, true, JSON.stringify(r.result));
  assert.equal(r.result?.structuredContent?.error, "upstream_unavailable", JSON.stringify(r.result));
  assert.equal(typeof r.result?.structuredContent?.retryAfter, "number", JSON.stringify(r.result));
  assert.match(r.text, /try again/i);
  assert.match(r.text, what);
  assert.doesNotMatch(r.text, /expired|reconnect|sign in again|needs attention/i);
}

/** The tool answered with the user's profile (`upn`'s mail name in it). */
export function assertWorks(r: TimedToolCall, upn: string): void {
  assert.equal(r.result?.isError, undefined, r.text);
  assert.match(JSON.stringify(r.result), new RegExp(upn.split("@")[0], "i"));
}
