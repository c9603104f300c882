/**
 * Authorization server metadata (RFC 8414), served at `/.well-known/oauth-authorization-server` and,
 * for clients that only try OpenID discovery, at `/.well-known/openid-configuration`.
 *
 * The issuer is the server's public origin, so clients that check `issuer` (RFC 8414 §3.3, required
 * by MCP 2026-07-28) find exactly the URL they built the discovery request from.
 *
 * @module
 */
import type { Config } from "../../config/config.ts";
import { CALLBACK_PATH } from "../../config/paths.ts";
import { SUPPORTED_AUTH_METHODS } from "../clients/metadata.ts";

export const OAUTH_PATHS = {
  authorize: "/authorize",
  consent: "/authorize/consent",
  token: "/token",
  register: "/register",
  revoke: "/revoke",
  jwks: "/.well-known/jwks.json",
  callback: CALLBACK_PATH,
} as const;

export function authorizationServerMetadata(config: Config) {
  const base = config.publicUrl;
  return {
    issuer: base,
    authorization_endpoint: `${base}${OAUTH_PATHS.authorize}`,
    token_endpoint: `${base}${OAUTH_PATHS.token}`,
    registration_endpoint: `${base}${OAUTH_PATHS.register}`,
    revocation_endpoint: `${base}${OAUTH_PATHS.revoke}`,
    jwks_uri: `${base}${OAUTH_PATHS.jwks}`,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    // Public clients (PKCE only), and clients that registered for a secret (PKCE as well).
    token_endpoint_auth_methods_supported: [...SUPPORTED_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...SUPPORTED_AUTH_METHODS],
    // OAuth 2.1 / MCP: S256 only; `plain` is refused.
    code_challenge_methods_supported: ["S256"],
    scopes_supported: [config.entra.scope, "offline_access"],
    client_id_metadata_document_supported: true,
    // RFC 9207: every authorization response carries `iss`.
    authorization_response_iss_parameter_supported: true,
    // For OpenID-discovery parsers; this server issues no ID tokens.
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["ES256"],
    service_documentation: `${base}/`,
  };
}
