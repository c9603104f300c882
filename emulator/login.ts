/**
 * The client side of a headless sign-in: a PKCE pair (RFC 7636 §4.1–§4.2, S256), and a test user signed
 * in to the emulator as a public client (authorization code + PKCE) with Entra's token response back.
 * Used by `npm run token`, the tests and the benchmarks.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { signIn } from "./signin.ts";

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** A fresh code verifier (32 random bytes, base64url) and its S256 challenge. */
export function pkce(): Pkce {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export interface LoginOptions {
  authorityHost: string;
  tenantId: string;
  clientId: string;
  /** Fully qualified, e.g. `api://<app>/user_impersonation`. */
  scope: string;
  user: string;
  redirectUri?: string;
  /** A claims challenge (JSON) the sign-in must satisfy: Conditional Access step-up. */
  claims?: string;
}

export interface EntraTokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expires_in: number;
  scope: string;
}

export async function loginPublicClient(opts: LoginOptions): Promise<EntraTokens> {
  const redirectUri = opts.redirectUri ?? "http://127.0.0.1:53682/callback";
  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString("hex");
  const base = `${opts.authorityHost}/${opts.tenantId}/oauth2/v2.0`;
  const authorize = new URL(`${base}/authorize`);
  authorize.search = new URLSearchParams({
    client_id: opts.clientId,
    response_type: "code",
    redirect_uri: redirectUri,
    scope: `${opts.scope} openid profile offline_access`,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
    login_hint: opts.user,
    ...(opts.claims ? { claims: opts.claims } : {}),
  }).toString();
  const back = await signIn(authorize.toString(), { user: opts.user });
  const error = back.searchParams.get("error");
  if (error) throw new Error(`sign-in failed: ${error}: ${back.searchParams.get("error_description")}`);
  if (back.searchParams.get("state") !== state) throw new Error("sign-in returned a different state");
  const res = await fetch(`${base}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      client_id: opts.clientId,
      grant_type: "authorization_code",
      code: back.searchParams.get("code") ?? "",
      redirect_uri: redirectUri,
      code_verifier: verifier,
      scope: `${opts.scope} openid profile offline_access`,
    }),
  });
  const body = (await res.json()) as EntraTokens & { error?: string; error_description?: string };
  if (!res.ok) throw new Error(`token request failed: ${body.error}: ${body.error_description}`);
  return body;
}
