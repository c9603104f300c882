/**
 * Real MCP clients signing in through the server's own authorization server (proxy mode): the v2
 * client's flow as an app drives it, and the v1 SDK's `auth()` for the legacy SSE URL. The browser
 * part is `walkAuthorization`.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { EmulatorUser } from "@entra-mcp/emulator";
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import { auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { walkAuthorization } from "./browser-walk.ts";
import { CookieJar } from "./cookie-jar.ts";
import { MemoryOAuthProvider, type StatefulOAuthProvider } from "./oauth-provider.ts";

/**
 * The v2 client's sign-in as an app drives it: connect (401 → the client asks to open the authorization
 * URL), walk the browser part, `finishAuth` with the redirect's parameters, connect again.
 */
export async function signInV2(
  mcpUrl: string,
  provider: StatefulOAuthProvider,
  user: EmulatorUser,
  onConsentPage?: (html: string) => void,
): Promise<{ client: Client; authorizeUrl: URL }> {
  const transport = () =>
    new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider as never });
  const first = transport();
  await assert.rejects(new Client({ name: "e2e", version: "1.0.0" }).connect(first), UnauthorizedError);
  const authorizeUrl = provider.authorizationUrl;
  assert.ok(authorizeUrl, "the client asked to open an authorization URL");
  assert.equal(authorizeUrl.origin, new URL(mcpUrl).origin, "the MCP server is the authorization server");
  const back = await walkAuthorization(authorizeUrl.toString(), { user: user.upn, onConsentPage });
  assert.ok(back.consentShown, "the proxy asked the user for consent");
  assert.ok(back.url.searchParams.get("code"), `no code in ${back.url}`);
  assert.equal(back.url.searchParams.get("iss"), new URL(mcpUrl).origin, "RFC 9207 iss is the server");
  await first.finishAuth(back.url.searchParams);
  await first.close();
  const client = new Client({ name: "e2e", version: "1.0.0" });
  await client.connect(transport());
  return { client, authorizeUrl };
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
