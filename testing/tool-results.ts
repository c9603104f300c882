/**
 * Reading tool results the way a person reads them: the text, the JSON a tool returned, and whether the
 * Graph user in it is the emulator's.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { EmulatorUser } from "@entra-mcp/emulator";

export interface ToolResultLike {
  isError?: boolean;
  content?: Array<{ type: string; text?: string; data?: string; mimeType?: string }>;
  structuredContent?: Record<string, unknown>;
}

/** The text of the first text block of a tool result. */
export function toolText(result: ToolResultLike): string {
  const block = result.content?.find((c) => c.type === "text");
  assert.ok(block?.text !== undefined, `expected a text block in ${JSON.stringify(result)}`);
  return block.text;
}

/** The JSON object a successful tool returned as text. */
export function toolJson(result: ToolResultLike): Record<string, unknown> {
  assert.ok(!result.isError, `the tool failed: ${JSON.stringify(result)}`);
  return JSON.parse(toolText(result)) as Record<string, unknown>;
}

/** The fields a person reads off `get_graph_user_details` match the emulator's user. */
export function assertIsUser(details: Record<string, unknown>, user: EmulatorUser): void {
  assert.equal(details.displayName, user.displayName);
  assert.equal(details.mail, user.mail);
  assert.equal(details.userPrincipalName, user.upn);
  assert.equal(details.id, user.oid);
}

/** Asserts a `get_graph_user_details` result is the emulator's Graph `/me` for `user`; returns it. */
export function assertGraphUser(result: unknown, user: EmulatorUser): Record<string, unknown> {
  const me = toolJson(result as ToolResultLike);
  assertIsUser(me, user);
  return me;
}
