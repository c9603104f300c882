/**
 * What a tool is: a name, a description, an input schema, and a handler that receives the
 * authenticated principal and a Graph client for that user. One file per tool under `tools/`.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { Config } from "../config/config.ts";
import type { Principal } from "../core/principal.ts";
import type { GraphClient } from "../graph/client.ts";

export interface ToolContext {
  principal: Principal;
  /** Microsoft Graph as the signed-in user (On-Behalf-Of); created lazily, so tools that don't use it cost nothing. */
  graph: GraphClient;
  /** The server settings a tool may show: which auth mode it runs in. */
  config: Pick<Config, "authMode">;
}

export interface ToolDefinition<Input extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  inputSchema: Input;
  annotations?: { readOnlyHint?: boolean; openWorldHint?: boolean };
  // A method, not a function-typed property: a list of tools with different inputs is a ToolDefinition[].
  handler(input: z.infer<Input>, ctx: ToolContext): Promise<CallToolResult>;
}

/** Identity helper that keeps the input type of each tool definition. */
export function defineTool<Input extends z.ZodObject>(tool: ToolDefinition<Input>): ToolDefinition<Input> {
  return tool;
}

/** A JSON value as MCP text content plus structured content. */
export function jsonResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }], structuredContent: value };
}
