/**
 * The legacy HTTP+SSE transport from the client's side, by hand: an event reader with timeouts, opening
 * a stream up to its `endpoint` event, and raw JSON-RPC POSTs to a session.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readEvents, type SseEvent } from "../api/src/legacy-sse/events.ts";

/** Reads an event stream one event at a time; `next()` resolves `undefined` when the stream ends. */
export class EventReader {
  readonly #events: AsyncGenerator<SseEvent>;
  constructor(body: ReadableStream<Uint8Array>) {
    this.#events = readEvents(body);
  }
  async next(timeoutMs = 30_000): Promise<SseEvent | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const r = await Promise.race([this.#events.next(), timeout]);
      return r.done ? undefined : r.value;
    } finally {
      clearTimeout(timer);
    }
  }
  /** The next `message` event, parsed. */
  async message(timeoutMs?: number): Promise<Record<string, unknown>> {
    const e = await this.next(timeoutMs);
    assert.ok(e, "the stream ended before a message arrived");
    assert.equal(e.event, "message");
    return JSON.parse(e.data) as Record<string, unknown>;
  }
  async close(): Promise<void> {
    await this.#events.return(undefined).catch(() => {});
  }
}

export interface OpenStream {
  response: Response;
  events: EventReader;
  /** The message URL from the `endpoint` event, resolved against the stream's URL. */
  messageUrl: URL;
  sessionId: string;
  abort: () => void;
}

/** `GET <base>/api/sse` as a client does, reading up to the `endpoint` event. */
export async function openStream(
  fetchFn: (request: Request) => Promise<Response> | Response,
  base: string,
  token: string,
): Promise<OpenStream> {
  const controller = new AbortController();
  const url = `${base}/api/sse`;
  const response = await fetchFn(
    new Request(url, {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
      signal: controller.signal,
    }),
  );
  assert.equal(response.status, 200, `GET /api/sse answered ${response.status}: ${await peek(response)}`);
  const events = new EventReader(response.body!);
  const first = await events.next();
  assert.equal(first?.event, "endpoint");
  const messageUrl = new URL(first.data, url);
  return {
    response,
    events,
    messageUrl,
    sessionId: messageUrl.searchParams.get("sessionId") ?? "",
    abort: () => controller.abort(),
  };
}

async function peek(response: Response): Promise<string> {
  if (response.status === 200) return "";
  return (await response.text()).slice(0, 300);
}

let nextId = 1;

/** POSTs one JSON-RPC message to a session's message URL (on whichever server `base` names). */
export function postMessage(
  fetchFn: (request: Request) => Promise<Response> | Response,
  messageUrl: URL | string,
  token: string,
  message: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    fetchFn(
      new Request(String(messageUrl), {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
        body: JSON.stringify({ jsonrpc: "2.0", ...message }),
      }),
    ),
  );
}

export function request(method: string, params: Record<string, unknown> = {}) {
  return { id: nextId++, method, params };
}

export const INITIALIZE = {
  protocolVersion: "2024-11-05",
  capabilities: {},
  clientInfo: { name: "sse-tests", version: "1.0.0" },
};
