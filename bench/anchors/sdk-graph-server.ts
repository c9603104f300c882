// Anchor: the bare v2 SDK handler with one tool that makes the Graph call the server's Graph tool makes
// (`GET /me` with a bearer token, over Node's fetch), and nothing else: no authentication, no token
// exchange, no deadline, no retries. Its cost minus the bare SDK anchor's is what the Graph call itself
// costs a Node server. `PORT=n GRAPH_URL=… GRAPH_TOKEN=… node bench/anchors/sdk-graph-server.ts`.
import { serve } from "@hono/node-server";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { Hono } from "hono";
import * as z from "zod";
import { exitWithParent } from "../child.ts";

const { GRAPH_URL, GRAPH_TOKEN } = process.env;
if (!GRAPH_URL || !GRAPH_TOKEN) throw new Error("GRAPH_URL and GRAPH_TOKEN are required");

const mcp = createMcpHandler(
  () => {
    const server = new McpServer(
      { name: "bench-graph-anchor", version: "1.0.0" },
      { capabilities: { tools: {} } },
    );
    server.registerTool(
      "get_graph_user_details",
      { title: "Graph /me", description: "The Graph call alone.", inputSchema: z.object({}) },
      async () => {
        const res = await fetch(`${GRAPH_URL}/me`, {
          headers: { authorization: `Bearer ${GRAPH_TOKEN}`, accept: "application/json" },
        });
        const me = (await res.json()) as Record<string, unknown>;
        return { content: [{ type: "text", text: JSON.stringify(me, null, 2) }], structuredContent: me };
      },
    );
    return server;
  },
  { legacy: "stateless" },
);

exitWithParent();
const app = new Hono();
app.all("/api/mcp", (c) => mcp.fetch(c.req.raw));
serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1" });
