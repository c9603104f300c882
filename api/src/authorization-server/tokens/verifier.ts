/**
 * Validates the access tokens this server issues in proxy mode, and gives tools the user's Entra token
 * for On-Behalf-Of: decrypted from the grant with the key the token carries, renewed with the stored
 * Entra refresh token when it has expired.
 *
 * @module
 */
import { OAuthError, OAuthErrorCode } from "@modelcontextprotocol/server";
import { errors } from "jose";
import type { Config } from "../../config/config.ts";
import type { Logger } from "../../core/log.ts";
import type { TokenVerifier } from "../../core/principal.ts";
import { ToolFailure } from "../../entra/errors.ts";
import type { UpstreamClient, UpstreamTokens } from "../../entra/upstream.ts";
import { GrantError, type GrantService } from "./grants.ts";

const RENEW_BEFORE_MS = 5 * 60 * 1000;

export function createProxyVerifier(
  config: Config,
  deps: { grants: GrantService; upstream: UpstreamClient; logger: Logger; now?: () => number },
): TokenVerifier {
  const now = deps.now ?? Date.now;
  return {
    async verify(token) {
      let v: Awaited<ReturnType<GrantService["verifyAccessToken"]>>;
      try {
        v = await deps.grants.verifyAccessToken(token);
      } catch (err) {
        if (err instanceof GrantError) throw new OAuthError(OAuthErrorCode.InvalidToken, err.message);
        if (err instanceof errors.JWTExpired)
          throw new OAuthError(OAuthErrorCode.InvalidToken, "The token has expired");
        if (err instanceof errors.JOSEError)
          throw new OAuthError(OAuthErrorCode.InvalidToken, "The token is not valid for this server");
        throw err;
      }
      if (!v.scopes.includes(config.entra.scope)) {
        throw new OAuthError(
          OAuthErrorCode.InsufficientScope,
          `The token lacks the "${config.entra.scope}" scope`,
        );
      }
      const { grant, grantId, grantKey, etag } = v;
      let renewed: Promise<string> | undefined;
      return {
        expiresAt: v.exp,
        principal: {
          tenantId: grant.tid,
          objectId: grant.oid,
          name: grant.name,
          username: grant.username,
          scopes: v.scopes,
          clientId: grant.clientId,
          userAssertion: () => {
            renewed ??= (async () => {
              const upstream = await deps.grants.openUpstream(grantId, grant, grantKey);
              if (upstream.expiresAt - RENEW_BEFORE_MS > now()) return upstream.accessToken;
              if (!upstream.refreshToken) throw reauthenticate();
              let next: UpstreamTokens;
              try {
                next = await deps.upstream.refresh(upstream.refreshToken);
              } catch (err) {
                deps.logger.warn("upstream refresh failed", {
                  oid: grant.oid,
                  error: (err as Error).message.slice(0, 300),
                });
                throw reauthenticate(err);
              }
              await deps.grants.saveUpstream(grantId, grant, etag, grantKey, {
                ...next,
                refreshToken: next.refreshToken ?? upstream.refreshToken,
              });
              return next.accessToken;
            })();
            return renewed;
          },
        },
      };
    },
  };
}

function reauthenticate(cause?: unknown) {
  return new ToolFailure(
    "reauthenticate",
    "Your Microsoft Entra sign-in has expired. Reconnect to this server to sign in again.",
    {
      cause,
    },
  );
}
