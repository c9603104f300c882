/**
 * Signs a test user in through the server's own authorization server (proxy mode), headless, as a
 * dynamically registered public client would: register, authorize with PKCE and `resource`, approve the
 * consent page, sign in at the Entra emulator, redeem the code. Returns the server's tokens.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { pkce } from "@entra-mcp/emulator/login";
import { walkAuthorization } from "./browser-walk.ts";

export async function loginThroughProxy(opts: {
  mcpUrl: string;
  user: string;
  clientName?: string;
}): Promise<{ access_token: string; refresh_token?: string; expires_in: number }> {
  const origin = new URL(opts.mcpUrl).origin;
  const redirectUri = "http://127.0.0.1:53682/callback";
  const reg = await fetch(`${origin}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: opts.clientName ?? "npm run token", redirect_uris: [redirectUri] }),
  });
  const client = (await reg.json()) as { client_id?: string; error_description?: string };
  if (!reg.ok || !client.client_id)
    throw new Error(`registration failed: ${client.error_description ?? reg.status}`);
  const { verifier, challenge } = pkce();
  const authorize = new URL(`${origin}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    scope: "user_impersonation offline_access",
    resource: opts.mcpUrl,
    state: randomBytes(8).toString("hex"),
  }).toString();
  const { url } = await walkAuthorization(authorize.toString(), { user: opts.user });
  const code = url.searchParams.get("code");
  if (!code)
    throw new Error(
      `sign-in failed: ${url.searchParams.get("error")}: ${url.searchParams.get("error_description")}`,
    );
  const res = await fetch(`${origin}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: client.client_id,
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      resource: opts.mcpUrl,
    }),
  });
  const tokens = (await res.json()) as {
    access_token: string;
    error_description?: string;
    expires_in: number;
  };
  if (!res.ok) throw new Error(`token request failed: ${tokens.error_description ?? res.status}`);
  return tokens;
}
