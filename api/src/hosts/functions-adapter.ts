/**
 * Converts between Azure Functions' HTTP types and the web `Request`/`Response` the Hono app speaks.
 *
 * Facts from `@azure/functions` 4.16 this relies on (read in its `src/http/`):
 * - With `app.setup({ enableHttpStream: true })` the host forwards the request to the worker over a local
 *   HTTP proxy; the library builds `request.url` as `${x-forwarded-proto}://${x-forwarded-host}${path}`
 *   from headers the Functions host (YARP, "set" semantics) writes from the original request, and takes the
 *   request headers from the trigger metadata (the client's original headers, `Host` included). So
 *   `request.url` already carries the public scheme and host; this adapter never reads `x-forwarded-*`.
 * - The request body is a `ReadableStream` over the proxied socket; the response body is written to the
 *   proxy chunk by chunk (`for await (const chunk of body)`), so passing the web stream through streams.
 * - The response headers are copied with `setHeader(name, value)` once per entry, so a second
 *   `Set-Cookie` header overwrites the first. Only `HttpResponseInit.cookies` sends several: the library
 *   serializes them with `cookie.serialize` (which URI-encodes the value) and sets them as one array.
 *   `toFunctionsResponse` therefore moves every `Set-Cookie` header into `cookies`.
 *
 * @module
 */
import type { Cookie, HttpRequest, HttpResponseInit } from "@azure/functions";

const BODYLESS_METHODS = new Set(["GET", "HEAD"]);

/** The Functions request as a web `Request`: same method, URL, headers; the body streams through. */
export function toWebRequest(request: HttpRequest): Request {
  const method = request.method.toUpperCase();
  const headers = new Headers(request.headers);
  if (!headers.has("host")) headers.set("host", new URL(request.url).host);
  const init: RequestInit & { duplex: "half" } = {
    method,
    headers,
    body: BODYLESS_METHODS.has(method) ? null : (request.body as ReadableStream<Uint8Array> | null),
    duplex: "half",
  };
  return new Request(request.url, init);
}

/** The web `Response` as what a Functions HTTP handler returns; the body stays a stream. */
export function toFunctionsResponse(response: Response): HttpResponseInit {
  const headers = new Headers(response.headers);
  const cookies = headers.getSetCookie().map(parseSetCookie);
  headers.delete("set-cookie");
  return {
    status: response.status,
    headers,
    cookies,
    body: (response.body ?? undefined) as HttpResponseInit["body"],
  };
}

/**
 * One `Set-Cookie` header value as an `@azure/functions` `Cookie`.
 *
 * The value is URI-decoded because the library re-encodes it with `encodeURIComponent`: a value that is
 * already URI-encoded (Hono's `setCookie` encodes) goes out byte for byte. `Partitioned` and `Priority`
 * have no field in `Cookie` and are dropped.
 */
export function parseSetCookie(header: string): Cookie {
  const [pair = "", ...attributes] = header.split(";");
  const eq = pair.indexOf("=");
  const cookie: Cookie = {
    name: (eq < 0 ? "" : pair.slice(0, eq)).trim(),
    value: decodeValue(pair.slice(eq + 1).trim()),
  };
  for (const attribute of attributes) {
    const i = attribute.indexOf("=");
    const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
    const value = i < 0 ? "" : attribute.slice(i + 1).trim();
    switch (key) {
      case "domain":
        cookie.domain = value;
        break;
      case "path":
        cookie.path = value;
        break;
      case "expires": {
        const date = new Date(value);
        if (!Number.isNaN(date.getTime())) cookie.expires = date;
        break;
      }
      case "max-age": {
        const seconds = Number(value);
        if (value && Number.isInteger(seconds)) cookie.maxAge = seconds;
        break;
      }
      case "secure":
        cookie.secure = true;
        break;
      case "httponly":
        cookie.httpOnly = true;
        break;
      case "samesite": {
        const sameSite = value.toLowerCase();
        if (sameSite === "strict") cookie.sameSite = "Strict";
        else if (sameSite === "lax") cookie.sameSite = "Lax";
        else if (sameSite === "none") cookie.sameSite = "None";
        break;
      }
    }
  }
  return cookie;
}

function decodeValue(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
