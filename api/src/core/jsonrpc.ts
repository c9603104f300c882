/**
 * The JSON-RPC error body MCP transports answer with when a request fails before it reaches the MCP
 * server (a guard, a size limit, a wrong method): no request id is known yet, so `id` is null.
 *
 * @module
 */

/** JSON-RPC 2.0 §5.1: -32600 is an invalid request; -32000 to -32099 are the server's own errors. */
export const JSONRPC_INVALID_REQUEST = -32600;
export const JSONRPC_SERVER_ERROR = -32000;

export function jsonRpcError(code: number, message: string) {
  return { jsonrpc: "2.0" as const, error: { code, message }, id: null };
}
