/**
 * The legacy HTTP+SSE transport (MCP 2024-11-05) on top of the stateless MCP handler, on web streams only
 * (it runs on Node and on Azure Functions with HTTP streaming).
 *
 * - `GET /api/sse` opens a session bound to the signed-in user (`tid:oid`) and answers an event stream
 *   whose first event is `event: endpoint` / `data: /api/messages?sessionId=…`; then one `message` event
 *   per JSON-RPC message for the client, and a `: keepalive` comment every `keepAliveMs`.
 * - `POST /api/messages?sessionId=…` takes one JSON-RPC message from the session's owner, hands it to the
 *   same stateless handler as `/api/mcp` (as a Streamable HTTP POST with the caller's `authInfo`), and
 *   publishes whatever the handler answers to the session's stream through the backplane; the POST itself
 *   is answered `202 Accepted` once that is done. Any instance can take the POST.
 * - A POST for a session that is unknown, expired, closed, or opened by someone else gets the same `404`
 *   (JSON-RPC error -32001): the response never tells a stranger that a session id exists.
 * - A stream ends when the client goes away, after `idleTimeoutMs` without a message for it, after
 *   `maxLifetimeMs`, when the backplane loses the session, or on `close()` (server shutdown). SSE clients
 *   (EventSource) reconnect on their own and get a new session; since the server keeps no state per
 *   session, nothing is lost but in-flight responses.
 *
 * @module
 */
import type { AuthInfo } from "@modelcontextprotocol/server";
import { base64, randomToken } from "../core/encoding.ts";
import { jsonRpcError } from "../core/jsonrpc.ts";
import type { Logger } from "../core/log.ts";
import type { Principal } from "../core/principal.ts";
import { type Backplane, SessionLimitError, type Subscription } from "./backplane.ts";
import { encodeComment, encodeEvent, readEvents } from "./events.ts";

export interface McpFetch {
  fetch(request: Request, options?: { authInfo?: AuthInfo }): Promise<Response>;
}

export interface SseBridgeOptions {
  backplane: Backplane;
  /** The stateless MCP handler (`createMcp(...)`). */
  mcp: McpFetch;
  /** The MCP endpoint URL the synthetic POSTs are addressed to (`config.resource`). */
  mcpUrl: string;
  /** Path of the message endpoint, announced in the `endpoint` event. */
  messagesPath: string;
  logger: Logger;
  /** Per-user limit, for the 429 message (the backplane enforces it). */
  maxSessionsPerUser: number;
  keepAliveMs?: number;
  idleTimeoutMs?: number;
  maxLifetimeMs?: number;
  now?: () => number;
}

export const SSE_DEFAULTS = {
  maxSessionsPerUser: 5,
  keepAliveMs: 15_000,
  idleTimeoutMs: 15 * 60_000,
  maxLifetimeMs: 60 * 60_000,
};

const SESSION_ID = /^[A-Za-z0-9_-]{32}$/;
const PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion";
/** The body field each method's `Mcp-Name` header mirrors (SEP-2243, SEP-2663). */
const MCP_NAME_SOURCE: Record<string, string> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
  "tasks/get": "taskId",
  "tasks/update": "taskId",
  "tasks/cancel": "taskId",
};

export const SSE_HEADERS = {
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
};

interface Stream {
  end(reason: string): Promise<void>;
}

export interface SseBridge {
  /** `GET /api/sse` for an authenticated principal. */
  open(request: Request, principal: Principal): Promise<Response>;
  /** `POST /api/messages?sessionId=…` for an authenticated principal. */
  post(request: Request, principal: Principal, authInfo: AuthInfo): Promise<Response>;
  /** Ends every stream held by this instance (server shutdown) and refuses new ones. */
  close(): Promise<void>;
  /** Streams held by this instance. */
  readonly streams: number;
}

export function ownerKey(principal: Principal): string {
  return `${principal.tenantId}:${principal.objectId}`;
}

export function createSseBridge(opts: SseBridgeOptions): SseBridge {
  const keepAliveMs = opts.keepAliveMs ?? SSE_DEFAULTS.keepAliveMs;
  const idleTimeoutMs = opts.idleTimeoutMs ?? SSE_DEFAULTS.idleTimeoutMs;
  const maxLifetimeMs = opts.maxLifetimeMs ?? SSE_DEFAULTS.maxLifetimeMs;
  const now = opts.now ?? Date.now;
  const { backplane, logger } = opts;
  const streams = new Map<string, Stream>();
  let closed = false;

  async function open(request: Request, principal: Principal): Promise<Response> {
    if (closed) return unavailable();
    const sessionId = randomToken(24);
    const owner = ownerKey(principal);
    const openedAt = now();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let ended = false;
    let delivered = 0;
    let subscription: Subscription | undefined;
    let keepAlive: ReturnType<typeof setInterval> | undefined;
    let idle: ReturnType<typeof setTimeout> | undefined;
    let lifetime: ReturnType<typeof setTimeout> | undefined;

    const write = (chunk: Uint8Array) => {
      if (ended) return;
      try {
        controller.enqueue(chunk);
      } catch {
        void stream.end("client disconnected");
      }
    };
    const armIdle = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => void stream.end("idle timeout"), idleTimeoutMs);
    };
    const stream: Stream = {
      async end(reason) {
        if (ended) return;
        ended = true;
        clearInterval(keepAlive);
        clearTimeout(idle);
        clearTimeout(lifetime);
        streams.delete(sessionId);
        try {
          controller.close();
        } catch {
          // already closed or cancelled by the client
        }
        await subscription
          ?.close()
          .catch((err: unknown) =>
            logger.warn("sse session close failed", { session: sessionId.slice(0, 8), error: String(err) }),
          );
        logger.info("sse session ended", {
          session: sessionId.slice(0, 8),
          oid: principal.objectId,
          reason,
          delivered,
          seconds: Math.round((now() - openedAt) / 1000),
        });
      },
    };

    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      cancel() {
        return stream.end("client disconnected");
      },
    });

    try {
      subscription = await backplane.open(sessionId, owner, {
        message(text) {
          if (ended) return;
          delivered++;
          armIdle();
          write(encodeEvent("message", text));
        },
        lost(reason) {
          void stream.end(reason);
        },
      });
    } catch (err) {
      if (err instanceof SessionLimitError) {
        logger.warn("sse session refused: limit reached", { oid: principal.objectId, limit: err.limit });
        return Response.json(
          {
            error: "too_many_sessions",
            error_description: `${err.message}. Close another SSE connection, or use Streamable HTTP at /api/mcp.`,
          },
          { status: 429, headers: { "Retry-After": "30" } },
        );
      }
      throw err;
    }
    streams.set(sessionId, stream);
    logger.info("sse session opened", { session: sessionId.slice(0, 8), oid: principal.objectId });

    write(encodeEvent("endpoint", `${opts.messagesPath}?sessionId=${sessionId}`));
    keepAlive = setInterval(() => write(encodeComment("keepalive")), keepAliveMs);
    armIdle();
    lifetime = setTimeout(() => void stream.end("maximum lifetime reached"), maxLifetimeMs);
    if (request.signal.aborted) void stream.end("client disconnected");
    else
      request.signal.addEventListener("abort", () => void stream.end("client disconnected"), { once: true });
    if (closed) void stream.end("server shutting down");

    return new Response(body, { status: 200, headers: SSE_HEADERS });
  }

  async function post(request: Request, principal: Principal, authInfo: AuthInfo): Promise<Response> {
    const sessionId = new URL(request.url).searchParams.get("sessionId");
    if (!sessionId) {
      return rpcError(400, -32600, "Missing sessionId: open the event stream (GET /api/sse) first");
    }
    const owner = SESSION_ID.test(sessionId) ? await backplane.owner(sessionId) : undefined;
    if (owner !== ownerKey(principal)) {
      if (owner) {
        logger.warn("sse message refused: the session belongs to another user", {
          session: sessionId.slice(0, 8),
          oid: principal.objectId,
        });
      }
      return rpcError(
        404,
        -32001,
        "Session not found: it expired or was closed. Open a new event stream (GET /api/sse).",
      );
    }
    if (!isJson(request.headers.get("content-type"))) {
      return rpcError(415, -32000, "Unsupported Media Type: Content-Type must be application/json");
    }
    const text = await request.text();
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return rpcError(400, -32700, "Parse error: the body is not valid JSON");
    }

    const synthetic = new Request(opts.mcpUrl, {
      method: "POST",
      headers: forwardedHeaders(request.headers, message),
      body: text,
      signal: request.signal,
    });
    const response = await opts.mcp.fetch(synthetic, { authInfo });
    const type = (response.headers.get("content-type") ?? "").toLowerCase();
    let answer = "";
    try {
      if (response.ok && type.startsWith("text/event-stream") && response.body) {
        for await (const event of readEvents(response.body)) {
          if (event.event === "message") await backplane.publish(sessionId, event.data);
        }
        return accepted();
      }
      answer = response.body ? await response.text() : "";
      const messages = type.startsWith("application/json") ? addressedMessages(answer) : [];
      if (messages.length) {
        // Responses to the client's requests (results, or errors the client can match by id), one event each.
        for (const m of messages) await backplane.publish(sessionId, m);
        return accepted();
      }
    } catch (err) {
      logger.error("sse message not delivered", { session: sessionId.slice(0, 8), error: String(err) });
      return rpcError(502, -32603, "The response could not be delivered to the event stream; retry");
    }
    if (response.ok) return accepted();
    // Not addressed to a request (parse errors, auth challenges…): the client can only see it here.
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    return new Response(answer || null, { status: response.status, headers });
  }

  return {
    open,
    post,
    async close() {
      closed = true;
      await Promise.all([...streams.values()].map((s) => s.end("server shutting down")));
    },
    get streams() {
      return streams.size;
    },
  };
}

/**
 * Headers for the synthetic Streamable HTTP POST. A 2026-07-28 client (its requests carry the protocol
 * version in `_meta`) needs `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` mirrored from the body,
 * which an SSE client does not send; a 2025-era client's negotiated `MCP-Protocol-Version` is passed on.
 */
function forwardedHeaders(incoming: Headers, message: unknown): Headers {
  const headers = new Headers({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  });
  const version = incoming.get("mcp-protocol-version");
  if (version) headers.set("mcp-protocol-version", version);
  if (!isObject(message) || typeof message.method !== "string" || message.id === undefined) return headers;
  const params = isObject(message.params) ? message.params : undefined;
  const meta = params && isObject(params._meta) ? params._meta : undefined;
  const envelopeVersion = meta?.[PROTOCOL_VERSION_META_KEY];
  if (typeof envelopeVersion !== "string") return headers;
  headers.set("mcp-protocol-version", envelopeVersion);
  headers.set("mcp-method", message.method);
  const field = Object.hasOwn(MCP_NAME_SOURCE, message.method) ? MCP_NAME_SOURCE[message.method] : undefined;
  const name = field && params ? params[field] : undefined;
  if (typeof name === "string") headers.set("mcp-name", headerValue(name));
  return headers;
}

/** A header value as the spec carries it: as is when safe, else the `=?base64?…?=` sentinel form. */
function headerValue(value: string): string {
  const plain =
    value.length > 0 &&
    value === value.trim() &&
    /^[\t\x20-\x7e]*$/.test(value) &&
    !(value.startsWith("=?base64?") && value.endsWith("?="));
  if (plain) return value;
  return `=?base64?${base64(new TextEncoder().encode(value))}?=`;
}

/**
 * The JSON-RPC messages in a JSON answer that a client can match to its requests (a usable `id`), each
 * serialized on its own (a batch answer becomes one event per response); none for anything else.
 */
function addressedMessages(json: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [];
  }
  const addressed = (m: unknown) => isObject(m) && m.id !== undefined && m.id !== null;
  if (Array.isArray(parsed)) return parsed.filter(addressed).map((m) => JSON.stringify(m));
  return addressed(parsed) ? [json] : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isJson(contentType: string | null): boolean {
  return (contentType ?? "").split(";")[0].trim().toLowerCase() === "application/json";
}

function accepted(): Response {
  return new Response(null, { status: 202 });
}

function unavailable(): Response {
  return Response.json(
    { error: "temporarily_unavailable", error_description: "The server is shutting down; reconnect." },
    { status: 503, headers: { "Retry-After": "1" } },
  );
}

function rpcError(status: number, code: number, message: string): Response {
  return Response.json(jsonRpcError(code, message), { status });
}
