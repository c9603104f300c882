/** Raw MCP requests over HTTP, for tests that check status codes and headers rather than client behaviour. */

export const MODERN = "2026-07-28";

/** A 2026-07-28 stateless `tools/call` request (headers mirror the body, as the spec requires). */
export function toolCall(name: string, args: Record<string, unknown> = {}, id = 1) {
  return {
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": MODERN,
      "mcp-method": "tools/call",
      "mcp-name": name,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: {
        name,
        arguments: args,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientInfo": { name: "tests", version: "1.0.0" },
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }),
  };
}

/** Parses a JSON-RPC response body that is either JSON or a one-event SSE stream. */
export async function rpcResult(
  res: Response,
): Promise<{ result?: Record<string, unknown>; error?: { code: number; message: string } }> {
  const text = await res.text();
  if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    const data = text
      .split("\n")
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trim());
    return JSON.parse(data.at(-1) ?? "{}");
  }
  return JSON.parse(text);
}

/** The parameters of a `WWW-Authenticate: Bearer …` challenge. */
export function parseChallenge(header: string | null): Record<string, string> {
  assertBearer(header);
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g))
    params[m[1]] = m[2].replace(/\\(.)/g, "$1");
  return params;
}

function assertBearer(header: string | null): asserts header is string {
  if (!header?.startsWith("Bearer ")) throw new Error(`expected a Bearer challenge, got ${header}`);
}
