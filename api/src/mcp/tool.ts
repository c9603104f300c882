/**
 * What a tool is: a name, a description, an input schema, the delegated Microsoft Graph permissions it
 * needs, and a handler that receives the authenticated principal and a Graph client for that user with
 * exactly those permissions. One file per tool under `tools/`.
 *
 * The permissions a tool declares are the only place they are written: the sign-in's consent, the consent
 * links, the landing page, the consent page, `npm run permissions` and the app registration in Bicep are
 * all generated from the tools' declarations (`permissions.ts`), and a test fails when any disagree.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { Config } from "../config/config.ts";
import type { GraphPermission } from "../config/graph-permissions.ts";
import type { Principal } from "../core/principal.ts";
import type { GraphClient } from "../graph/client.ts";

export interface ToolContext {
  principal: Principal;
  /**
   * Microsoft Graph as the signed-in user (On-Behalf-Of), with a token for exactly the tool's declared
   * `graphPermissions`; created lazily, so tools that don't use it cost nothing.
   */
  graph: GraphClient;
  /** The server settings a tool may show: which auth mode it runs in. */
  config: Pick<Config, "authMode">;
}

export interface ToolDefinition<Input extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  inputSchema: Input;
  /**
   * The delegated Microsoft Graph permissions the tool's Graph calls need (least privilege); `[]` for a
   * tool that does not call Graph. A permission not in `config/graph-permissions.ts` does not compile.
   */
  graphPermissions: readonly GraphPermission[];
  annotations?: {
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
    openWorldHint?: boolean;
  };
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
