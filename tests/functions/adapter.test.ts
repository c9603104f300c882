// The adapter between @azure/functions' HTTP types and web Request/Response, driven with the library's own
// HttpRequest (as the worker builds it) and read back through its own HttpResponse (what the worker
// streams to the host), around a real Hono app. No Functions host involved.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import azureFunctions, { type HttpResponseInit } from "@azure/functions";
import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { streamSSE } from "hono/streaming";
import { parseSetCookie, toFunctionsResponse, toWebRequest } from "../../api/src/hosts/functions-adapter.ts";

const { HttpRequest, HttpResponse } = azureFunctions;
// The serializer @azure/functions itself uses for `cookies` when it streams the response to the host.
const { serialize } = createRequire(import.meta.resolve("@azure/functions"))("cookie") as {
  serialize: (name: string, value: string, opts: Record<string, unknown>) => string;
};

type AzRequest = InstanceType<typeof HttpRequest>;

/** One trip through the adapter, ending where the worker takes over: the library's HttpResponse. */
async function roundTrip(app: Hono, request: AzRequest) {
  const init: HttpResponseInit = toFunctionsResponse(await app.fetch(toWebRequest(request)));
  return { init, response: new HttpResponse(init) };
}

/** The Set-Cookie header values the worker writes (httpProxy.ts `setCookies`). */
function serializedCookies(init: HttpResponseInit): string[] {
  return (init.cookies ?? []).map((c) =>
    serialize(c.name, c.value, {
      domain: c.domain,
      path: c.path,
      expires: typeof c.expires === "number" ? new Date(c.expires) : c.expires,
      secure: c.secure,
      httpOnly: c.httpOnly,
      sameSite: c.sameSite?.toLowerCase(),
      maxAge: c.maxAge,
    }),
  );
}

describe("toWebRequest", () => {
  test("method, URL, query, headers and a string body reach the Hono app intact", async () => {
    const app = new Hono().post("/api/echo", async (c) =>
      c.json({
        method: c.req.method,
        url: c.req.url,
        q: c.req.query("q"),
        auth: c.req.header("authorization"),
        host: c.req.header("host"),
        type: c.req.header("content-type"),
        body: await c.req.json(),
      }),
    );
    const request = new HttpRequest({
      method: "POST",
      url: "https://func-api-x.azurewebsites.net/api/echo?q=a%20b",
      headers: {
        authorization: "Bearer abc",
        "content-type": "application/json",
        host: "func-api-x.azurewebsites.net",
      },
      body: { string: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }) },
    });
    const { response } = await roundTrip(app, request);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      method: "POST",
      url: "https://func-api-x.azurewebsites.net/api/echo?q=a%20b",
      q: "a b",
      auth: "Bearer abc",
      host: "func-api-x.azurewebsites.net",
      type: "application/json",
      body: { jsonrpc: "2.0", id: 1, method: "ping" },
    });
  });

  test("a missing Host header is taken from the request URL (the public host)", async () => {
    const app = new Hono().get("/h", (c) => c.text(c.req.header("host") ?? ""));
    const { response } = await roundTrip(
      app,
      new HttpRequest({ method: "GET", url: "https://mcp.contoso.com/h", headers: {} }),
    );
    assert.equal(await response.text(), "mcp.contoso.com");
  });

  test("binary request bodies arrive byte for byte", async () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 37 + 11) % 256);
    const app = new Hono().put("/bin", async (c) => c.body(new Uint8Array(await c.req.arrayBuffer())));
    const { response } = await roundTrip(
      app,
      new HttpRequest({
        method: "PUT",
        url: "https://h.example/bin",
        headers: { "content-type": "application/octet-stream" },
        body: { bytes },
      }),
    );
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes);
  });

  test("a streamed request body (what the host's HTTP proxy gives the worker) is readable as it arrives", async () => {
    let push!: (s: string) => void;
    let end!: () => void;
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        const enc = new TextEncoder();
        push = (s) => controller.enqueue(enc.encode(s));
        end = () => controller.close();
      },
    });
    // With enableHttpStream the library wraps the proxied socket in a native Request (createStreamRequest).
    const request = new HttpRequest({
      nativeRequest: new Request("https://h.example/upload", {
        method: "POST",
        body: source,
        duplex: "half",
      } as RequestInit),
    } as ConstructorParameters<typeof HttpRequest>[0]);
    const web = toWebRequest(request);
    const reader = web.body!.getReader();
    push("first");
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), "first");
    push("second");
    end();
    const rest = await reader.read();
    assert.equal(new TextDecoder().decode(rest.value), "second");
    assert.equal((await reader.read()).done, true);
  });

  test("HEAD reaches the GET route and answers without a body", async () => {
    const app = new Hono().get("/doc", (c) => c.text("hello", 200, { "x-len": "5" }));
    const { init, response } = await roundTrip(
      app,
      new HttpRequest({ method: "HEAD", url: "https://h.example/doc", headers: {} }),
    );
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-len"), "5");
    assert.equal(init.body, undefined);
    assert.equal(response.body, null);
  });

  test("an empty POST has no body", async () => {
    const app = new Hono().post("/e", async (c) => c.text(`[${await c.req.text()}]`));
    const { response } = await roundTrip(
      app,
      new HttpRequest({ method: "POST", url: "https://h.example/e", headers: {} }),
    );
    assert.equal(await response.text(), "[]");
  });
});

describe("toFunctionsResponse", () => {
  test("a streaming (SSE) response arrives event by event, the first before the stream ends", async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const app = new Hono().get("/sse", (c) =>
      streamSSE(c, async (stream) => {
        await stream.writeSSE({ event: "endpoint", data: "/api/messages?sessionId=1" });
        await released; // the second event waits until the test has read the first
        await stream.writeSSE({ event: "message", data: '{"jsonrpc":"2.0"}' });
      }),
    );
    const { response } = await roundTrip(
      app,
      new HttpRequest({ method: "GET", url: "https://h.example/sse", headers: {} }),
    );
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    // The worker forwards the body with `for await (const chunk of body.values())`; read it the same way.
    const chunks = response.body!.values();
    const decoder = new TextDecoder();
    const first = await chunks.next();
    assert.equal(first.done, false);
    assert.equal(decoder.decode(first.value), "event: endpoint\ndata: /api/messages?sessionId=1\n\n");
    release();
    let rest = "";
    for await (const chunk of { [Symbol.asyncIterator]: () => chunks }) rest += decoder.decode(chunk);
    assert.equal(rest, 'event: message\ndata: {"jsonrpc":"2.0"}\n\n');
  });

  test("two Set-Cookie headers both survive (as cookies the worker serializes), other headers stay", async () => {
    const expires = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000); // Hono refuses > 400 days
    const app = new Hono().get("/login", (c) => {
      setCookie(c, "__Host-csrf", "a/b+c=d", { path: "/", secure: true, httpOnly: true, sameSite: "Strict" });
      setCookie(c, "consent", "client 1", { maxAge: 3600, expires, sameSite: "Lax", domain: "contoso.com" });
      return c.text("ok", 200, { "cache-control": "no-store" });
    });
    const { init, response } = await roundTrip(
      app,
      new HttpRequest({ method: "GET", url: "https://h.example/login", headers: {} }),
    );
    const original = (await app.request("/login")).headers.getSetCookie();
    assert.equal(original.length, 2);
    assert.equal(response.status, 200);
    // Nothing is left for the one-value-per-name header copy to overwrite.
    assert.equal(response.headers.get("set-cookie"), null);
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.equal(response.cookies.length, 2);
    // Same cookies on the wire: each serialized line parses to what Hono's header parses to.
    const sent = serializedCookies(init);
    assert.deepEqual(sent.map(parseSetCookie), original.map(parseSetCookie));
    assert.equal(sent[0], "__Host-csrf=a%2Fb%2Bc%3Dd; Path=/; HttpOnly; Secure; SameSite=Strict");
    assert.equal(
      sent[1],
      `consent=client%201; Max-Age=3600; Domain=contoso.com; Path=/; Expires=${expires.toUTCString()}; SameSite=Lax`,
    );
  });

  test("binary response bodies are identical", async () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 131 + 7) % 256);
    const app = new Hono().get("/photo", (c) => c.body(bytes, 200, { "content-type": "image/jpeg" }));
    const { response } = await roundTrip(
      app,
      new HttpRequest({ method: "GET", url: "https://h.example/photo", headers: {} }),
    );
    assert.equal(response.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes);
  });

  test("status codes and their headers survive: 204, 302 + Location, 401 + WWW-Authenticate", async () => {
    const challenge =
      'Bearer resource_metadata="https://h.example/.well-known/oauth-protected-resource/api/mcp"';
    const app = new Hono()
      .delete("/x", (c) => c.body(null, 204))
      .get("/authorize", (c) => c.redirect("https://login.example/authorize?state=s", 302))
      .post("/api/mcp", (c) => c.json({ error: "invalid_token" }, 401, { "WWW-Authenticate": challenge }));
    const at = (method: string, path: string) =>
      roundTrip(app, new HttpRequest({ method, url: `https://h.example${path}`, headers: {} }));

    const noContent = await at("DELETE", "/x");
    assert.equal(noContent.response.status, 204);
    assert.equal(noContent.response.body, null);

    const redirect = await at("GET", "/authorize");
    assert.equal(redirect.response.status, 302);
    assert.equal(redirect.response.headers.get("location"), "https://login.example/authorize?state=s");

    const unauthorized = await at("POST", "/api/mcp");
    assert.equal(unauthorized.response.status, 401);
    assert.equal(unauthorized.response.headers.get("www-authenticate"), challenge);
    assert.deepEqual(await unauthorized.response.json(), { error: "invalid_token" });
  });
});

describe("parseSetCookie", () => {
  test("reads every attribute @azure/functions can represent", () => {
    assert.deepEqual(
      parseSetCookie(
        "sid=x%20y; Max-Age=0; Path=/oauth; Domain=.contoso.com; Secure; HttpOnly; SameSite=None",
      ),
      {
        name: "sid",
        value: "x y",
        maxAge: 0,
        path: "/oauth",
        domain: ".contoso.com",
        secure: true,
        httpOnly: true,
        sameSite: "None",
      },
    );
    assert.deepEqual(parseSetCookie("gone=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), {
      name: "gone",
      value: "",
      expires: new Date(0),
    });
  });
});
