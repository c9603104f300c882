/**
 * The MCP server: one fresh `McpServer` per request (stateless, both eras), with every tool bound to the
 * request's authenticated principal.
 *
 * @module
 */
import {
  type CallToolResult,
  createMcpHandler,
  type McpHttpHandler,
  McpServer,
} from "@modelcontextprotocol/server";
import type { Config } from "../config/config.ts";
import { Failure, toolResult } from "../core/failure.ts";
import type { Logger } from "../core/log.ts";
import { principalOf } from "../core/principal.ts";
import { auditToolCall, errorType, inSpan, type ToolAudit } from "../core/telemetry.ts";
import type { GraphTokenProvider } from "../entra/obo.ts";
import { type GraphClient, graphClientFor } from "../graph/client.ts";
import type { ToolDefinition } from "./tool.ts";

export const SERVER_INFO = { name: "entra-graph-mcp", title: "Microsoft Graph (Entra ID)", version: "0.1.0" };

export interface McpDeps {
  graphTokens: GraphTokenProvider;
  fetch?: typeof fetch;
  logger: Logger;
  /** The tools to serve (`tools/index.ts` lists every tool the server has). */
  tools: ToolDefinition[];
}

export function createMcp(
  config: Pick<Config, "graph" | "maxBodyBytes" | "authMode">,
  deps: McpDeps,
): McpHttpHandler {
  const { tools } = deps;
  return createMcpHandler(
    (ctx) => {
      const principal = principalOf(ctx.authInfo);
      const server = new McpServer(SERVER_INFO, {
        capabilities: { tools: {} },
        instructions:
          "Tools that read the signed-in user's Microsoft 365 data through Microsoft Graph, On-Behalf-Of the user.",
      });
      let graph: GraphClient | undefined;
      const toolCtx = {
        principal,
        config,
        get graph() {
          graph ??= graphClientFor(principal, {
            baseUrl: config.graph.baseUrl,
            tokens: deps.graphTokens,
            fetch: deps.fetch,
          });
          return graph;
        },
      };
      for (const tool of tools) {
        server.registerTool(
          tool.name,
          {
            title: tool.title,
            description: tool.description,
            inputSchema: tool.inputSchema,
            annotations: tool.annotations,
          },
          (input: Record<string, unknown>): Promise<CallToolResult> =>
            inSpan(`mcp.tool ${tool.name}`, { "mcp.tool.name": tool.name }, async () => {
              const started = performance.now();
              let outcome = "error";
              try {
                const result = await tool.handler(input, toolCtx);
                outcome = result.isError ? "tool_error" : "ok";
                return result;
              } catch (err) {
                outcome = errorType(err);
                if (err instanceof Failure) {
                  outcome = err.reason;
                  deps.logger.warn("tool failed", {
                    tool: tool.name,
                    reason: err.reason,
                    oid: principal.objectId,
                    correlationId: principal.correlationId,
                    cause: causeText(err),
                  });
                  return toolResult(err);
                }
                throw err;
              } finally {
                audit(deps.logger, {
                  tool: tool.name,
                  tenantId: principal.tenantId,
                  objectId: principal.objectId,
                  clientId: principal.clientId,
                  outcome,
                  durationMs: Math.round((performance.now() - started) * 100) / 100,
                  correlationId: principal.correlationId,
                });
              }
            }),
        );
      }
      return server;
    },
    {
      legacy: "stateless",
      maxRequestBodySize: config.maxBodyBytes,
      onerror: (err) => deps.logger.warn("mcp request rejected", { error: err.message }),
    },
  );
}

/** The audit trail of tool calls: who (tid/oid), which client, which tool, how it went, how long it took. */
function audit(logger: Logger, record: ToolAudit): void {
  logger.info("tool call", {
    audit: "tool_call",
    tool: record.tool,
    tid: record.tenantId,
    oid: record.objectId,
    client: record.clientId,
    outcome: record.outcome,
    durationMs: record.durationMs,
    correlationId: record.correlationId,
  });
  auditToolCall(record);
}

function causeText(err: Error): string | undefined {
  const cause = err.cause as { message?: string } | undefined;
  // Entra and Graph messages carry codes and trace ids, never tokens.
  return cause?.message?.slice(0, 500);
}
