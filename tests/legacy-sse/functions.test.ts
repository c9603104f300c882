/**
 * The legacy SSE transport on the Azure Functions host: `handleHttp` (the registered HTTP function) driven
 * with `@azure/functions`' own `HttpRequest`, its answer read back through the library's `HttpResponse`
 * chunk by chunk, as the worker streams it to the Functions host (`httpProxy.ts`: `for await (const chunk
 * of body.values())`). The endpoint event arrives while the stream is open, a POST made afterwards gets its
 * answer on that same open stream: events are delivered one by one, not buffered to the end.
 * Entra-direct mode against the in-process emulator (no table: the in-process backplane).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Emulator, start as startEmulator } from "@entra-mcp/emulator";
import { installFakeWorker } from "@entra-mcp/testing/fake-worker";

installFakeWorker();
const { default: azureFunctions } = await import("@azure/functions");
const { HttpRequest, HttpResponse, InvocationContext } = azureFunctions;

const PUBLIC_URL = "https://func-api-x.azurewebsites.net";
let emulator: Emulator;
let handleHttp: typeof import("../../api/src/hosts/functions.ts").handleHttp;

before(async () => {
  emulator = await startEmulator({ port: 0 });
  Object.assign(process.env, emulator.serverEnv(), { AUTH_MODE: "entra", PUBLIC_URL });
  delete process.env.STORAGE_TABLE_ENDPOINT;
  ({ handleHttp } = await import("../../api/src/hosts/functions.ts"));
});

after(async () => {
  await emulator?.stop();
});

/** Resolves the promise or fails after `ms` (a buffered stream would otherwise hang the test). */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not arrive within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("SSE through the Functions host", () => {
  test("the stream's events reach the worker one by one while the stream stays open", async () => {
    const token = await emulator.mintAccessToken();
    const init = await handleHttp(
      new HttpRequest({
        method: "GET",
        url: `${PUBLIC_URL}/api/sse`,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "text/event-stream",
          host: "func-api-x.azurewebsites.net",
        },
      }),
      new InvocationContext(),
    );
    const response = new HttpResponse(init);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    assert.equal(response.headers.get("x-accel-buffering"), "no");
    assert.ok(response.body);

    // What the worker does with the body: write each chunk to the host as it comes.
    const chunks = response.body.values()[Symbol.asyncIterator]();
    const decoder = new TextDecoder();
    let text = "";
    const nextEvent = async (what: string): Promise<string> => {
      while (!text.includes("\n\n")) {
        const { done, value } = await within(20_000, what, chunks.next());
        assert.equal(done, false, `the stream ended before ${what}`);
        text += decoder.decode(value as Uint8Array, { stream: true });
      }
      const i = text.indexOf("\n\n");
      const event = text.slice(0, i);
      text = text.slice(i + 2);
      return event;
    };

    try {
      const endpoint = await nextEvent("the endpoint event");
      const path = /^event: endpoint\ndata: (\/api\/messages\?sessionId=[A-Za-z0-9_-]{32})$/.exec(
        endpoint,
      )?.[1];
      assert.ok(path, endpoint);

      // The POST goes through the same HTTP function (another invocation, as on any instance).
      const post = (message: Record<string, unknown>) =>
        handleHttp(
          new HttpRequest({
            method: "POST",
            url: `${PUBLIC_URL}${path}`,
            headers: {
              authorization: `Bearer ${token}`,
              "content-type": "application/json",
              host: "func-api-x.azurewebsites.net",
            },
            body: { string: JSON.stringify({ jsonrpc: "2.0", ...message }) },
          }),
          new InvocationContext(),
        );
      const accepted = await post({
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2024-11-05",
          capabilities: {},
          clientInfo: { name: "functions", version: "1" },
        },
      });
      assert.equal(accepted.status, 202);
      const initialized = await nextEvent("the initialize result");
      assert.match(initialized, /^event: message\ndata: \{.*"protocolVersion":"2024-11-05"/);

      assert.equal(
        (await post({ id: 2, method: "tools/call", params: { name: "get_graph_user_details" } })).status,
        202,
      );
      const result = await nextEvent("the tool result");
      const message = JSON.parse(result.replace(/^event: message\ndata: /, "")) as {
        id: number;
        result: { content: Array<{ text: string }> };
      };
      assert.equal(message.id, 2);
      assert.equal(
        (JSON.parse(message.result.content[0].text) as { userPrincipalName: string }).userPrincipalName,
        emulator.users[0].upn,
      );
    } finally {
      // The host's client went away: the worker stops reading, the session ends.
      await chunks.return?.();
    }
  });
});
