/**
 * Black-box steps against the server's authorization server, for its conformance tests: plain HTTP
 * against a running proxy-mode stack, with a cookie jar per "browser". Every step of the sign-in is a
 * separate function so tests can tamper with any one of them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { type Pkce, pkce } from "@entra-mcp/emulator/login";
import { signIn } from "@entra-mcp/emulator/signin";
import { type ConsentForm, consentAnswer, consentFields } from "./browser-walk.ts";
import { browse, CookieJar } from "./cookie-jar.ts";
import { toolCall } from "./mcp-request.ts";
import type { Stack } from "./stack.ts";

export { browse, CookieJar, consentAnswer, type Pkce, pkce };

export const ADELE = "AdeleV@contoso.onmicrosoft.com";
export const SCOPE = "user_impersonation";
export const REDIRECT = "http://127.0.0.1:53682/callback";

export interface Client {
  client_id: string;
  redirect_uris: string[];
  client_name?: string;
}

let callers = 0;

/**
 * A loopback address of its own (`127.1.x.y`), for a "caller" the server tells apart from the others: it
 * keys its limits on the socket's address, which a client chooses only by where it connects from.
 */
export function nextCaller(): string {
  callers++;
  return `127.1.${Math.floor(callers / 250) % 250}.${(callers % 250) + 1}`;
}

/**
 * `fetch` over a socket bound to `localAddress` (a 127.0.0.0/8 address): a request from another caller,
 * as the server sees it. Plain HTTP to the local server only; the whole body is read.
 */
export function fetchFrom(
  localAddress: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: init.method ?? "GET", headers: init.headers, localAddress, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) for (const x of v) headers.append(k, x);
            else if (v !== undefined) headers.set(k, v);
          }
          const status = res.statusCode ?? 0;
          const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, headers }));
        });
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** `POST /register` (RFC 7591) from the caller at `from` (a fresh one by default); the response is not yet read. */
export function registerRaw(stack: Stack, metadata: unknown, from = nextCaller()) {
  return fetchFrom(from, `${stack.server.url}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(metadata),
  });
}

/** Registers a public client with DCR (each from its own caller address: the per-caller limit never bites). */
export async function registerClient(
  stack: Stack,
  metadata: Record<string, unknown> = {},
  from = nextCaller(),
): Promise<Client> {
  const res = await registerRaw(
    stack,
    {
      client_name: "Conformance client",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      token_endpoint_auth_method: "none",
      ...metadata,
    },
    from,
  );
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as Client;
}

export interface AuthorizeParams {
  client: Client;
  pkce?: Pkce;
  redirectUri?: string;
  state?: string;
  scope?: string;
  resource?: string | null;
  extra?: Record<string, string | null>;
}

/** The `/authorize` URL a well-behaved client builds; `extra` overrides (null removes a parameter). */
export function authorizeUrl(stack: Stack, p: AuthorizeParams): string {
  const q = new URLSearchParams({
    response_type: "code",
    client_id: p.client.client_id,
    redirect_uri: p.redirectUri ?? p.client.redirect_uris[0],
    state: p.state ?? randomBytes(8).toString("hex"),
    scope: p.scope ?? `${SCOPE} offline_access`,
    code_challenge: (p.pkce ?? pkce()).challenge,
    code_challenge_method: "S256",
  });
  if (p.resource !== null) q.set("resource", p.resource ?? stack.server.mcpUrl);
  for (const [k, v] of Object.entries(p.extra ?? {})) {
    if (v === null) q.delete(k);
    else q.set(k, v);
  }
  return `${stack.server.url}/authorize?${q}`;
}

export interface ConsentPage extends ConsentForm {
  html: string;
  res: Response;
}

export function parseConsent(html: string, res: Response): ConsentPage {
  const form = consentFields(html);
  assert.ok(form, `expected the consent page, got:\n${html.slice(0, 400)}`);
  return { html, ...form, res };
}

/** Opens `/authorize` in `jar`'s browser and expects the consent page. */
export async function openConsent(jar: CookieJar, url: string): Promise<ConsentPage> {
  const res = await browse(jar, url);
  const html = await res.text();
  assert.equal(res.status, 200, `expected the consent page (200), got ${res.status}: ${html.slice(0, 300)}`);
  return parseConsent(html, res);
}

/** Posts the consent form as the page would (same Origin unless given). */
export function postConsent(
  stack: Stack,
  jar: CookieJar,
  fields: Record<string, string>,
  origin: string | null = new URL(stack.server.url).origin,
): Promise<Response> {
  return browse(jar, `${stack.server.url}/authorize/consent`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(origin ? { origin } : {}),
    },
    body: new URLSearchParams(fields).toString(),
  });
}

export function isEntraAuthorize(stack: Stack, location: string | null): boolean {
  if (!location) return false;
  const u = new URL(location);
  return u.origin === stack.emulator.browserAuthorityHost && u.pathname.endsWith("/oauth2/v2.0/authorize");
}

/** From `/authorize` to the URL Entra sends the browser back to (`/oauth/callback?code&state`), not followed. */
export async function toCallback(
  stack: Stack,
  jar: CookieJar,
  url: string,
  user = ADELE,
  opts: { staySignedIn?: boolean } = {},
): Promise<{ callback: URL; consentShown: boolean; consentHtml?: string }> {
  let res = await browse(jar, url);
  let consentHtml: string | undefined;
  if (res.status === 200) {
    consentHtml = await res.text();
    const page = parseConsent(consentHtml, res);
    res = await postConsent(stack, jar, consentAnswer(page, "approve", opts));
  }
  assert.equal(res.status, 302, `expected a redirect to Entra, got ${res.status}: ${await res.text()}`);
  const entra = res.headers.get("location");
  assert.ok(isEntraAuthorize(stack, entra), `expected Entra's authorize endpoint, got ${entra}`);
  const callback = await signIn(entra as string, { user });
  assert.equal(callback.origin, stack.server.url, `Entra answered elsewhere: ${callback}`);
  return { callback, consentShown: consentHtml !== undefined, consentHtml };
}

/** The full browser leg; returns the redirect back to the client (`code`, `state`, `iss` or `error`). */
export async function authorize(
  stack: Stack,
  p: AuthorizeParams & { jar?: CookieJar; user?: string; staySignedIn?: boolean },
): Promise<URL> {
  const jar = p.jar ?? new CookieJar();
  const { callback } = await toCallback(stack, jar, authorizeUrl(stack, p), p.user, {
    staySignedIn: p.staySignedIn,
  });
  const res = await browse(jar, callback);
  assert.equal(res.status, 302, `the callback answered ${res.status}: ${await res.text()}`);
  return new URL(res.headers.get("location") as string);
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

export async function tokenRaw(stack: Stack, form: Record<string, string | undefined>): Promise<Response> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.set(k, v);
  return fetch(`${stack.server.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
}

/** An OAuth error answer: status, `error` code, and `Cache-Control: no-store` (RFC 6749 §5.2). */
export async function expectOAuthError(res: Response, status: number, error: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal((JSON.parse(text) as { error: string }).error, error, text);
  assert.match(res.headers.get("cache-control") ?? "", /no-store/);
}

export function codeRequest(stack: Stack, client: Client, code: string, verifier: string) {
  return {
    grant_type: "authorization_code",
    client_id: client.client_id,
    code,
    code_verifier: verifier,
    redirect_uri: client.redirect_uris[0],
    resource: stack.server.mcpUrl,
  };
}

/** Signs Adele in for `client` and redeems the code. */
export async function signInTokens(
  stack: Stack,
  client: Client,
  opts: { jar?: CookieJar; scope?: string; staySignedIn?: boolean } = {},
): Promise<Tokens> {
  const p = pkce();
  const back = await authorize(stack, { client, pkce: p, ...opts });
  const code = back.searchParams.get("code");
  assert.ok(code, `no code: ${back}`);
  const res = await tokenRaw(stack, codeRequest(stack, client, code, p.verifier));
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Tokens;
}

export function refresh(stack: Stack, client: Client, refreshToken: string, scope?: string) {
  return tokenRaw(stack, {
    grant_type: "refresh_token",
    client_id: client.client_id,
    refresh_token: refreshToken,
    resource: stack.server.mcpUrl,
    scope,
  });
}

/** Calls a tool on `/api/mcp` with the bearer token; returns the HTTP status and the body. */
export async function callTool(
  stack: Stack,
  accessToken: string,
  name = "whoami",
): Promise<{ status: number; text: string; wwwAuthenticate: string | null }> {
  const req = toolCall(name);
  const res = await fetch(stack.server.mcpUrl, {
    method: "POST",
    headers: { ...req.headers, authorization: `Bearer ${accessToken}` },
    body: req.body,
  });
  return { status: res.status, text: await res.text(), wwwAuthenticate: res.headers.get("www-authenticate") };
}

/** The access token is accepted and the tool answers (not a JSON-RPC or tool error). */
export async function assertWorks(stack: Stack, accessToken: string, name = "whoami"): Promise<string> {
  const r = await callTool(stack, accessToken, name);
  assert.equal(r.status, 200, r.text);
  assert.doesNotMatch(r.text, /"isError":\s*true/, r.text);
  return r.text;
}

export async function assertRejected(stack: Stack, accessToken: string): Promise<void> {
  const r = await callTool(stack, accessToken);
  assert.equal(r.status, 401, r.text);
  assert.match(r.wwwAuthenticate ?? "", /error="invalid_token"/);
}

/** The server still answers its health check and its metadata. */
export async function assertServing(stack: Stack): Promise<void> {
  const health = await fetch(`${stack.server.url}/api/health`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const meta = await fetch(`${stack.server.url}/.well-known/oauth-authorization-server`);
  assert.equal(meta.status, 200);
  assert.equal(((await meta.json()) as { issuer: string }).issuer, stack.server.url);
}

/** An HTML error page: the given status, HTML, and no redirect anywhere. */
export async function expectErrorPage(res: Response, status = 400): Promise<string> {
  const html = await res.text();
  assert.equal(res.status, status, html.slice(0, 300));
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  assert.equal(res.headers.get("location"), null);
  return html;
}

/** A redirect to the client's redirect URI carrying `error`, the client's `state` and our `iss`. */
export function expectRedirectError(
  stack: Stack,
  res: Response,
  redirectUri: string,
  error: string,
  state: string,
): URL {
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get("location") as string);
  assert.equal(`${loc.origin}${loc.pathname}`, redirectUri);
  assert.equal(loc.searchParams.get("error"), error, loc.toString());
  assert.equal(loc.searchParams.get("state"), state);
  assert.equal(loc.searchParams.get("iss"), stack.server.url);
  assert.equal(loc.searchParams.get("code"), null);
  return loc;
}
