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
import type { AbuseLimits } from "../clients/rate-limit.ts";
import type { ClientRegistry } from "../clients/registry.ts";
import type { GrantService } from "../tokens/grants.ts";
import type { Keyring } from "../tokens/keyring.ts";
import type { UpstreamRenewal } from "../tokens/verifier.ts";

export interface AsContext {
  config: Config;
  store: Store;
  keyring: Keyring;
  grants: GrantService;
  clients: ClientRegistry;
  upstream: UpstreamClient;
  /** The Graph permissions the tools declare: asked for at sign-in, and named on the consent page. */
  graphPermissions: readonly GraphPermission[];
  /** Renews the user's Entra token when it is due, ending the grant when Entra refuses. */
  renewal: UpstreamRenewal;
  /** Validates the Entra access token the proxy receives for itself at the callback. */
  entraVerifier: TokenVerifier;
  entraKeys: EntraKeySet;
  cookies: SignedCookies;
  /** Per-caller and overall budgets of the open endpoints. */
  limits: AbuseLimits;
  /**
   * Who is calling, as a key the caller cannot choose: the host's socket address, or on Azure the
   * address the platform's front end saw (see `callerKey`).
   */
  callerAddress: (c: Context) => string;
  logger: Logger;
  now: () => number;
}

/** A page for errors that must not go back to an unverified redirect URI (RFC 6749 §4.1.2.1). */
export function errorPage(c: Context, status: 400 | 403 | 404 | 500 | 502, title: string, message: string) {
  return c.html(page(title, `<p>${escapeHtml(message)}</p>`), status, pageSecurityHeaders([]));
}

/** 429 as a page (RFC 6585 §4), for the browser-facing endpoints. */
export function tooManyRequestsPage(c: Context, retryAfterSec: number) {
  return c.html(
    page(
      "Too many requests",
      "<p>Too many sign-in requests from your network. Wait a minute and try again.</p>",
    ),
    429,
    { ...pageSecurityHeaders([]), "Retry-After": String(retryAfterSec) },
  );
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
