/**
 * Shared pieces of the SSE transport tests: an event reader with timeouts, raw JSON-RPC POSTs to a
 * session, and proxy-mode tokens obtained through the real OAuth flow.
 *
 * @module
 */
import assert from "node:assert/strict";
import { auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { readEvents, type SseEvent } from "../../api/src/legacy-sse/events.ts";
import { CookieJar, walkAuthorization } from "../../scripts/lib/browser-walk.ts";
import { MemoryOAuthProvider } from "../helpers/oauth-provider.ts";

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

/** `MemoryOAuthProvider` that keeps the discovery state across the redirect (the v2 client asks for it). */
export class StatefulOAuthProvider extends MemoryOAuthProvider {
  private _discovery?: unknown;
  saveDiscoveryState(state: unknown) {
    this._discovery = state;
  }
  discoveryState() {
    return this._discovery as never;
  }
}

/**
 * A proxy-mode access token for `user`, through the real flow a client runs for the SSE URL (RFC 9728
 * discovery from `/api/sse`, registration, `/authorize` with `resource=…/api/sse`, consent, the
 * emulator's sign-in, `/token`).
 */
export async function proxyToken(serverUrl: string, user: string, clientName: string): Promise<string> {
  const provider = new MemoryOAuthProvider({ clientName });
  const sseUrl = `${serverUrl}/api/sse`;
  assert.equal(await auth(provider as never, { serverUrl: sseUrl }), "REDIRECT");
  assert.ok(provider.authorizationUrl, "the client was sent to /authorize");
  assert.equal(provider.authorizationUrl.searchParams.get("resource"), sseUrl);
  const back = await walkAuthorization(provider.authorizationUrl.toString(), { user, jar: new CookieJar() });
  const code = back.url.searchParams.get("code");
  assert.ok(code, `no code: ${back.url}`);
  assert.equal(await auth(provider as never, { serverUrl: sseUrl, authorizationCode: code }), "AUTHORIZED");
  const token = provider.currentTokens?.access_token;
  assert.ok(token);
  return token;
}

/** Polls until `check` returns true (or fails after `timeoutMs`). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
