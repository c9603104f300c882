/**
 * What the authorization server's routes share: configuration, the store, keys, the upstream Entra
 * client, the client registry, and the small helpers every endpoint uses to answer.
 *
 * @module
 */
import type { Context } from "hono";
import type { Config } from "../../config/config.ts";
import type { GraphPermission } from "../../config/graph-permissions.ts";
import type { Answer } from "../../core/failure.ts";
import { escapeHtml } from "../../core/html.ts";
import type { Logger } from "../../core/log.ts";
import { page, pageSecurityHeaders } from "../../core/page.ts";
import type { TokenVerifier } from "../../core/principal.ts";
import type { UpstreamClient } from "../../entra/upstream.ts";
import type { EntraKeySet } from "../../entra/verifier.ts";
import type { Store } from "../../store/store.ts";
import type { SignedCookies } from "../browser/cookies.ts";
import type { RateLimiter } from "../clients/rate-limit.ts";
import type { ClientRegistry } from "../clients/registry.ts";
import type { GrantService } from "../tokens/grants.ts";
import type { Keyring } from "../tokens/keyring.ts";

export interface AsContext {
  config: Config;
  store: Store;
  keyring: Keyring;
  grants: GrantService;
  clients: ClientRegistry;
  upstream: UpstreamClient;
  /** The Graph permissions the tools declare: asked for at sign-in, and named on the consent page. */
  graphPermissions: readonly GraphPermission[];
  /** Validates the Entra access token the proxy receives for itself at the callback. */
  entraVerifier: TokenVerifier;
  entraKeys: EntraKeySet;
  cookies: SignedCookies;
  registerLimiter: RateLimiter;
  logger: Logger;
  now: () => number;
}

/** A page for errors that must not go back to an unverified redirect URI (RFC 6749 §4.1.2.1). */
export function errorPage(c: Context, status: 400 | 403 | 404 | 500 | 502, title: string, message: string) {
  return c.html(page(title, `<p>${escapeHtml(message)}</p>`), status, pageSecurityHeaders([]));
}

/** Redirects to the client's (verified) redirect URI with the RFC 9207 `iss` always added. */
export function redirectToClient(
  c: Context,
  config: Config,
  redirectUri: string,
  params: Record<string, string | undefined>,
) {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  url.searchParams.set("iss", config.publicUrl);
  return c.redirect(url.toString(), 302);
}

/** `{ error, error_description }` with `Cache-Control: no-store` (RFC 6749 §5.1, §5.2). */
export function oauthJsonError(
  c: Context,
  status: Answer["status"],
  error: string,
  description: string,
  headers: Record<string, string> = {},
) {
  return c.json({ error, error_description: description }, status, {
    "Cache-Control": "no-store",
    Pragma: "no-cache",
    ...headers,
  });
}
