/**
 * The MCP server: one fresh `McpServer` per request (stateless, both eras), with every tool bound to the
 * request's authenticated principal and to a Graph client for exactly the tool's declared permissions.
 *
 * A permission the user has not granted answers with a tool error carrying the consent link for exactly
 * the tool's permissions; a client that declares URL elicitation on the 2026-07-28 protocol gets that link
 * as a URL elicitation instead (an input-required result), and its retry of the same call runs the tool
 * again, which then succeeds once the user consented.
 *
 * @module
 */
import {
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  type InputRequiredResult,
  inputRequired,
  inputResponse,
  type McpHttpHandler,
  type McpRequestContext,
  McpServer,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { Config } from "../config/config.ts";
import { graphScope } from "../config/graph-permissions.ts";
import { Failure, toolResult } from "../core/failure.ts";
import type { Logger } from "../core/log.ts";
import { type Principal, principalOf } from "../core/principal.ts";
import { auditToolCall, errorType, inSpan, type ToolAudit } from "../core/telemetry.ts";
import type { GraphTokenProvider } from "../entra/obo.ts";
import { type GraphClient, graphClientFor } from "../graph/client.ts";
import type { ToolDefinition } from "./tool.ts";

export const SERVER_INFO = { name: "entra-graph-mcp", title: "Microsoft Graph (Entra ID)", version: "0.1.0" };

/** Sees each failure a tool answers with, on the request that carried it. */
export type ToolFailureListener = (failure: Failure) => void;

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
  const byName = new Map(tools.map((t) => [t.name, t]));
  return createMcpHandler(
    (ctx) => {
      const principal = principalOf(ctx.authInfo);
      // Set by the route per request: it may answer the HTTP request with a challenge instead (app.ts).
      const onToolFailure = (ctx.authInfo?.extra as { onToolFailure?: ToolFailureListener } | undefined)
        ?.onToolFailure;
      const server = new McpServer(SERVER_INFO, {
        capabilities: { tools: {} },
        instructions:
          "Tools that read the signed-in user's Microsoft 365 data through Microsoft Graph, On-Behalf-Of the user.",
      });
      for (const tool of toolsFor(ctx, tools, byName)) {
        let graph: GraphClient | undefined;
        const toolCtx = {
          principal,
          config,
          get graph() {
            graph ??= graphClientFor(principal, {
              baseUrl: config.graph.baseUrl,
              tokens: deps.graphTokens,
              scopes: tool.graphPermissions.map(graphScope),
              fetch: deps.fetch,
            });
            return graph;
          },
        };
        server.registerTool(
          tool.name,
          {
            title: tool.title,
            description: tool.description,
            inputSchema: tool.inputSchema,
            annotations: tool.annotations,
          },
          (
            input: Record<string, unknown>,
            ctx: ServerContext,
          ): Promise<CallToolResult | InputRequiredResult> =>
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
                  const failure = await withStepUpLink(err, principal);
                  const elicitation = linkElicitation(failure, ctx);
                  if (elicitation) return elicitation;
                  onToolFailure?.(failure);
                  return toolResult(failure);
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

/**
 * The tools a request needs built. On the 2026-07-28 protocol a `tools/call` names its tool in the
 * `Mcp-Method` and `Mcp-Name` headers, which the SDK has checked against the body before it asks for a
 * server (a mismatch is refused there), so only that tool is built; every other request (a listing, the
 * 2025 protocol, a name that needs decoding or is not ours) gets all of them. The answer is the same
 * either way: this only spares building tools the request cannot reach.
 */
function toolsFor(
  ctx: McpRequestContext,
  tools: ToolDefinition[],
  byName: Map<string, ToolDefinition>,
): ToolDefinition[] {
  const headers = ctx.era === "modern" ? ctx.requestInfo?.headers : undefined;
  if (headers?.get("mcp-method") !== "tools/call") return tools;
  const tool = byName.get(headers.get("mcp-name") ?? "");
  return tool ? [tool] : tools;
}

/**
 * Proxy mode: a claims challenge gets the link of a step-up that re-runs only the Entra leg of the
 * sign-in with those claims (`authorization-server/routes/step-up.ts`).
 */
async function withStepUpLink(failure: Failure, principal: Principal): Promise<Failure> {
  if (failure.reason !== "insufficient_claims" || !failure.claims || !principal.stepUp) return failure;
  const url = await principal.stepUp(failure.claims);
  return new Failure(
    failure.reason,
    `${failure.message} Open ${url} , sign in, then call the tool again: your MCP client does not need to reconnect.`,
    { url, claims: failure.claims, cause: failure },
  );
}

/**
 * A consent or step-up link as a URL elicitation, for a client that declared `elicitation.url` on this
 * request (2026-07-28). Not again when the client already answered one for this call: its retry then
 * reports the failure as a tool error, so a user who declined or did not finish is not asked in a loop.
 */
function linkElicitation(failure: Failure, ctx: ServerContext): InputRequiredResult | undefined {
  if (!failure.url || (failure.reason !== "consent_required" && failure.reason !== "insufficient_claims"))
    return undefined;
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const declared = envelope?.[CLIENT_CAPABILITIES_META_KEY] as
    | { elicitation?: { url?: unknown } }
    | undefined;
  if (!declared?.elicitation?.url) return undefined;
  if (inputResponse(ctx.mcpReq.inputResponses, "consent").kind !== "missing") return undefined;
  return inputRequired({
    inputRequests: {
      consent: inputRequired.elicitUrl({
        message: failure.message,
        url: failure.url,
      }),
    },
  });
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
