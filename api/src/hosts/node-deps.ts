/**
 * Node implementations of the side effects the OAuth modules take as dependencies: DNS resolution and
 * an outbound `fetch` that refuses non-public addresses at connect time.
 *
 * Why a second check: the CIMD resolver first resolves the document's host and refuses private
 * addresses, then calls `fetch`, which resolves the name again to connect. Between the two lookups a
 * hostile DNS server can change its answer (DNS rebinding: "8.8.8.8" for the check, "169.254.169.254"
 * for the connect). `createSafeFetch()` closes that window: it hands `node:http(s)` a `lookup` that
 * validates every address it returns, so the socket can only ever open to an address that passed.
 * IP-literal hosts skip `lookup` in Node, so they are checked before the request.
 *
 * It is deliberately small: GET/HEAD without a body, no redirects (ever), no connection reuse (each
 * request opens a socket through the validating lookup), `signal` for the deadline. That is all a
 * metadata-document fetch needs. Node's global `fetch` cannot do this without undici's `Agent`, which is
 * not a dependency of this project.
 *
 * Only hosts import this file (it uses `node:*`).
 *
 * @module
 */
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { Readable } from "node:stream";
import {
  type FetchLike,
  FORBIDDEN_ADDRESS_ERROR_CODE,
  type ResolveHost,
} from "../authorization-server/clients/cimd.ts";
import { ipLiteral, isLoopbackAddress, nonPublicReason } from "../authorization-server/clients/ip.ts";

/** `ResolveHost` for Node: every A and AAAA answer, as the system resolver (getaddrinfo) sees them. */
export const resolveHost: ResolveHost = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

class ForbiddenAddressError extends Error {
  readonly code = FORBIDDEN_ADDRESS_ERROR_CODE;
  constructor(host: string, address: string, why: string) {
    super(`refusing to connect to ${host} (${address}): ${why}`);
    this.name = "ForbiddenAddressError";
  }
}

export interface SafeFetchOptions {
  /** LOCAL TESTING ONLY: also allow loopback addresses (127.0.0.0/8, ::1). */
  allowLoopback?: boolean;
}

/** A `fetch` that connects only to public unicast addresses, validated at connect time. */
export function createSafeFetch(options: SafeFetchOptions = {}): FetchLike {
  const { allowLoopback = false } = options;
  const refusal = (address: string): string | undefined =>
    allowLoopback && isLoopbackAddress(address) ? undefined : nonPublicReason(address);

  // Node calls this from net.connect; with autoSelectFamily (the default) it asks for `all: true`.
  const lookup: LookupFunction = (hostname, opts, callback) => {
    dns.lookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      if (addresses.length === 0) return callback(new Error(`no addresses for ${hostname}`), "", 0);
      for (const a of addresses) {
        // SSRF / DNS rebinding: the address checked here is the address the socket connects to.
        const why = refusal(a.address);
        if (why) return callback(new ForbiddenAddressError(hostname, a.address, why), "", 0);
      }
      if (opts.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };

  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input);
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        return reject(new TypeError(`safeFetch: unsupported scheme ${url.protocol}`));
      }
      const method = (init.method ?? "GET").toUpperCase();
      if ((method !== "GET" && method !== "HEAD") || init.body != null) {
        return reject(new TypeError("safeFetch: only GET and HEAD without a body are supported"));
      }
      const literal = ipLiteral(url.hostname);
      if (literal !== undefined) {
        const why = refusal(literal);
        if (why) return reject(new ForbiddenAddressError(url.hostname, literal, why));
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => {
        headers[k] = v;
      });
      const request = (url.protocol === "https:" ? https : http).request(
        url,
        { method, headers, lookup, agent: false, signal: init.signal ?? undefined },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 599) {
            res.destroy();
            return reject(new Error(`safeFetch: unexpected status ${status}`));
          }
          const responseHeaders = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const item of Array.isArray(v) ? v : [v]) responseHeaders.append(k, item);
          }
          const nullBody = method === "HEAD" || status === 204 || status === 205 || status === 304;
          if (nullBody) res.resume();
          const body = nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          resolve(new Response(body, { status, statusText: res.statusMessage, headers: responseHeaders }));
        },
      );
      request.on("error", reject);
      request.end();
    });
}

/** What both Node-based hosts (local Node, Azure Functions) give `createApp` for client ID metadata documents. */
export function nodeHostDeps(config: { oauth: { cimdAllowLoopbackHttp: boolean } }) {
  return { resolveHost, cimdFetch: createSafeFetch({ allowLoopback: config.oauth.cimdAllowLoopbackHttp }) };
}
