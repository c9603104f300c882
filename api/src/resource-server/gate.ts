/**
 * The protected resource: Protected Resource Metadata (RFC 9728) and the bearer-token gate in front of
 * the MCP endpoint, shaped as verify → map → gate.
 *
 * - No token: `401` with `WWW-Authenticate: Bearer resource_metadata="…", scope="…"` (RFC 6750 §3.1: no
 *   error code when the request carried no credentials).
 * - A bad token: the same challenge plus `error="invalid_token"`.
 * - A valid token without the scope: `403` with `error="insufficient_scope"`.
 *
 * @module
 */

import {
  type AuthInfo,
  bearerAuthChallengeResponse,
  OAuthError,
  verifyBearerToken,
} from "@modelcontextprotocol/server";
import type { MiddlewareHandler } from "hono";
import type { Config } from "../config/config.ts";
import { resourceMetadataUrl } from "../config/paths.ts";
import { ANSWERS, Failure, failureHeaders, oauthErrorBody } from "../core/failure.ts";
import { type AuthVariables, principalOf, type TokenVerifier, toAuthInfo } from "../core/principal.ts";
import { inSpan, telemetry } from "../core/telemetry.ts";

/** The scope a client must request, as the challenge and the metadata advertise it. */
export function challengeScope(config: Pick<Config, "authMode" | "entra">): string {
  return config.authMode === "entra" ? `${config.entra.appIdUri}/${config.entra.scope}` : config.entra.scope;
}

/** RFC 7235 quoted-string: escape backslash and quote so a description can never break the header. */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, "\\$&").replace(/[\r\n]/g, " ")}"`;
}

/** The answer to a request the gate refuses: `failure` is why, or none when no credentials were sent. */
export function challenge(config: Config, failure?: Failure, resource = config.resource): Response {
  const params = [
    `resource_metadata=${quoted(resourceMetadataUrl(config, resource))}`,
    `scope=${quoted(challengeScope(config))}`,
  ];
  if (!failure) {
    // RFC 6750 §3.1: no error code when the request carried no credentials. The SDK's
    // `bearerAuthChallengeResponse` always names one (`invalid_token`), so this answer is ours.
    const body = {
      error: "unauthorized",
      error_description: "Sign in to use this server: send an Entra ID bearer token.",
    };
    return Response.json(body, {
      status: 401,
      headers: { "WWW-Authenticate": `Bearer ${params.join(", ")}` },
    });
  }
  const { status } = ANSWERS[failure.reason];
  if (failure.reason === "insufficient_claims" && failure.claims) {
    // Entra's claims challenge (claims-challenge guidance), on the MCP challenge (RFC 9728 §5.1): the
    // client signs the user in again with these claims and retries with the new token.
    const claims = btoa(String.fromCharCode(...new TextEncoder().encode(failure.claims)));
    const header = [
      ...params,
      `error="insufficient_claims"`,
      `error_description=${quoted(failure.message)}`,
      `claims="${claims}"`,
    ];
    return Response.json(
      { ...oauthErrorBody(failure), claims: failure.claims },
      { status: 401, headers: { "WWW-Authenticate": `Bearer ${header.join(", ")}` } },
    );
  }
  if (status !== 401 && status !== 403) {
    // Not the caller's token (Entra's keys unreachable, say): no challenge, which would restart sign-in.
    return Response.json(oauthErrorBody(failure), { status, headers: failureHeaders(failure) });
  }
  // The SDK builds the challenge for a refused token: 401 invalid_token or 403 insufficient_scope, with
  // the error, the scope and the metadata URL (RFC 6750 §3, RFC 9728 §5.1).
  const { error, error_description } = oauthErrorBody(failure);
  return bearerAuthChallengeResponse(new OAuthError(error, error_description), {
    requiredScopes: [challengeScope(config)],
    resourceMetadataUrl: resourceMetadataUrl(config, resource),
  });
}

/**
 * Requires a valid bearer token; on success stores the principal as `c.var.principal`. Challenges point
 * to the metadata of `opts.resource` (default: the MCP endpoint).
 */
export function requireBearer(
  config: Config,
  verifier: TokenVerifier,
  opts: { resource?: string } = {},
): MiddlewareHandler<{ Variables: AuthVariables }> {
  const resource = opts.resource ?? config.resource;
  return async function requireBearer(c, next) {
    const header = c.req.header("authorization");
    // No credentials: the challenge without an error code (see `challenge`), before the SDK would add one.
    if (!header) return challenge(config, undefined, resource);
    let authInfo: AuthInfo;
    try {
      // The SDK parses the header, runs our verifier and checks the expiry it reports.
      authInfo = await inSpan("auth.verify_token", { "mcp.auth.mode": config.authMode }, () =>
        verifyBearerToken(header, {
          verifier: {
            async verifyAccessToken(token) {
              const verified = await verifier.verify(token);
              return toAuthInfo(verified.principal, token, verified.expiresAt, config.resource);
            },
          },
        }),
      );
    } catch (err) {
      // The SDK's own refusals (no Bearer scheme, no token, an expired token) are all `invalid_token`.
      const failure =
        err instanceof Failure
          ? err
          : err instanceof OAuthError
            ? new Failure("invalid_token", err.message)
            : undefined;
      if (!failure) throw err;
      telemetry.authFailure(failure.reason, "bearer");
      return challenge(config, failure, resource);
    }
    c.set("principal", principalOf(authInfo));
    c.set("authInfo", authInfo);
    await next();
  };
}
