// Anchor: the bare v2 SDK handler (`createMcpHandler`), one tool, no authentication, mounted on Hono the
// way the server mounts its own: a fresh McpServer per request, stateless `tools/call`. The tool answers
// with a fixed principal of the same shape as the server's `whoami`.
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { Hono } from "hono";
import * as z from "zod";

const PRINCIPAL = {
  tenantId: "aaaabbbb-0000-cccc-1111-dddd2222eeee",
  objectId: "00000000-0000-0000-0000-000000000001",
  name: "Bench User",
  username: "bench@contoso.onmicrosoft.com",
  scopes: ["user_impersonation"],
  clientId: null,
  authMode: "none",
};

const mcp = createMcpHandler(
  () => {
    const server = new McpServer({ name: "bench-anchor", version: "1.0.0" }, { capabilities: { tools: {} } });
    server.registerTool(
      "whoami",
      { title: "Who am I", description: "A fixed principal.", inputSchema: z.object({}) },
      async () => ({
        content: [{ type: "text", text: JSON.stringify(PRINCIPAL, null, 2) }],
        structuredContent: PRINCIPAL,
      }),
    );
    return server;
  },
  { legacy: "stateless" },
);

export const app = new Hono();
app.all("/api/mcp", (c) => mcp.fetch(c.req.raw));
