/**
 * The server's paths, and the URLs built from them and the configuration: each is written here once.
 *
 * @module
 */

/** The parts of the configuration the URLs are built from (see `config.ts`). */
interface Site {
  /** The public origin, without a trailing slash. */
  publicUrl: string;
  /** The MCP endpoint's URL. */
  resource: string;
}
/** The Streamable HTTP MCP endpoint: `config.resource` is the public URL plus this path. */
export const MCP_PATH = "/api/mcp";

/** Where Entra ID returns the browser in proxy mode (the redirect URI of the server's app registration). */
export const CALLBACK_PATH = "/oauth/callback";

export function callbackUrl(config: Pick<Site, "publicUrl">): string {
  return `${config.publicUrl}${CALLBACK_PATH}`;
}

/**
 * Entra ID v2 endpoints: the authorize and token endpoints, and the signing keys. `tenant` is the home
 * tenant by default; sign-in uses `entra.signInTenant`, and a user's own tokens their tenant (`tid`).
 * The authorize endpoint is the one browsers open, on the browser authority host (the local emulator
 * serves it on plain HTTP loopback); the others are called by the server, on the authority host.
 */
export function entraUrl(
  config: { entra: { authorityHost: string; browserAuthorityHost: string; tenantId: string } },
  endpoint: "authorize" | "token" | "keys",
  tenant = config.entra.tenantId,
): URL {
  const host = endpoint === "authorize" ? config.entra.browserAuthorityHost : config.entra.authorityHost;
  tenant = `${host}/${tenant}`;
  return new URL(endpoint === "keys" ? `${tenant}/discovery/v2.0/keys` : `${tenant}/oauth2/v2.0/${endpoint}`);
}

/** The Connected apps page: a person's grants, and (for administrators) anyone's. */
export const CONNECTED_APPS_PATH = "/connected-apps";

/** Where Entra returns the browser after the Connected apps page's own sign-in. */
export const CONNECTED_APPS_CALLBACK_PATH = "/connected-apps/callback";

export function connectedAppsUrl(config: Pick<Site, "publicUrl">): string {
  return `${config.publicUrl}${CONNECTED_APPS_PATH}`;
}

export function connectedAppsCallbackUrl(config: Pick<Site, "publicUrl">): string {
  return `${config.publicUrl}${CONNECTED_APPS_CALLBACK_PATH}`;
}

/** The administrators' endpoint: list and revoke grants by user or by client (Entra token with the role). */
export const ADMIN_GRANTS_PATH = "/api/admin/grants";

/** Liveness and the public facts the landing page shows. */
export const HEALTH_PATH = "/api/health";

/** Where Entra ID sends the browser back after the consent link (see `entra/obo.ts` `consentUrl`). */
export const CONSENT_COMPLETE_PATH = "/oauth/consent-complete";

/** Where the legacy HTTP+SSE transport (MCP 2024-11-05) receives the client's messages. */
export const MESSAGES_PATH = "/api/messages";

export const PRM_PATH = "/.well-known/oauth-protected-resource";

/** The legacy HTTP+SSE endpoint (MCP 2024-11-05). */
export const SSE_PATH = "/api/sse";

/**
 * The resource identifier of the legacy SSE endpoint. Clients check that the metadata's `resource` is a
 * prefix of the URL they connect to (RFC 9728 §3.3), so a client given `/api/sse` needs metadata naming
 * `/api/sse`. It is the same protected resource under a second identifier: the authorization server
 * accepts both (`isOwnResource`) and issues every token for `config.resource`, valid on both endpoints.
 */
export function sseResource(config: Pick<Site, "publicUrl">): string {
  return `${config.publicUrl}${SSE_PATH}`;
}

/** RFC 8707: whether a `resource` parameter names this server (the MCP endpoint or the legacy SSE one). */
export function isOwnResource(config: Site, resource: string): boolean {
  return resource === config.resource || resource === sseResource(config);
}

export function resourceMetadataUrl(config: Site, resource = config.resource): string {
  // RFC 9728 §3.1: the well-known segment is inserted between the host and the resource's path.
  return `${config.publicUrl}${PRM_PATH}${new URL(resource).pathname}`;
}
