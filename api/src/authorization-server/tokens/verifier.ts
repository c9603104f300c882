/**
 * Validates the access tokens this server issues in proxy mode, and gives tools the user's Entra token
 * for On-Behalf-Of: decrypted from the grant with the key the token carries, renewed with the stored
 * Entra refresh token when it has expired.
 *
 * @module
 */
import { errors } from "jose";
import type { Config } from "../../config/config.ts";
import { Failure, isTransient } from "../../core/failure.ts";
import type { Logger } from "../../core/log.ts";
import type { TokenVerifier } from "../../core/principal.ts";
import { entraFailure } from "../../entra/errors.ts";
import type { UpstreamClient, UpstreamTokens } from "../../entra/upstream.ts";
import type { GrantService, OpenedGrant } from "./grants.ts";

const RENEW_BEFORE_MS = 5 * 60 * 1000;

type VerifiedAccess = Awaited<ReturnType<GrantService["verifyAccessToken"]>>;

export function createProxyVerifier(
  config: Pick<Config, "entra" | "publicUrl">,
  deps: {
    grants: GrantService;
    upstream: UpstreamClient;
    logger: Logger;
    now?: () => number;
    /** Starts a step-up for the grant (`routes/step-up.ts`): the link the user opens. */
    startStepUp?: (g: OpenedGrant, claims: string) => Promise<string>;
  },
): TokenVerifier {
  const now = deps.now ?? Date.now;
  const renewal = createUpstreamRenewal(config, deps);
  return {
    async verify(token) {
      const v = await verifyAccess(deps.grants, token);
      if (!v.scopes.includes(config.entra.scope)) {
        throw new Failure("insufficient_scope", `The token lacks the "${config.entra.scope}" scope`);
      }
      const { grant } = v;
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
          correlationId: grant.correlationId,
          userAssertion: () => {
            renewed ??= renewal.currentToken(v, now());
            return renewed;
          },
          ...(deps.startStepUp ? { stepUp: (claims: string) => deps.startStepUp!(v, claims) } : {}),
        },
      };
    },
  };
}

/** RFC 6750 §3.1: a token that is not one of ours, expired, or whose grant is gone is `invalid_token`. */
async function verifyAccess(grants: GrantService, token: string): Promise<VerifiedAccess> {
  try {
    return await grants.verifyAccessToken(token);
  } catch (err) {
    // Storage down is not the token's fault: answered as such (503), never as a challenge to sign in again.
    if (isTransient(err)) throw err;
    if (err instanceof Failure) throw new Failure("invalid_token", err.message, { cause: err });
    if (err instanceof errors.JWTExpired) throw new Failure("invalid_token", "The token has expired");
    if (err instanceof errors.JOSEError)
      throw new Failure("invalid_token", "The token is not valid for this server");
    throw err;
  }
}

export interface UpstreamRenewal {
  /**
   * The user's Entra access token, renewed with the stored Entra refresh token when it is within five
   * minutes of expiry (RFC 6749 §6), and the rotated refresh token kept for next time.
   *
   * When Entra refuses the refresh token (`invalid_grant`: the user's sign-in was revoked, expired or
   * its password changed, AADSTS50173, 700082, 500133 …) the proxy's grant ends with it, so every token
   * issued from it stops working and the client's next request gets 401 and signs in again. Entra down
   * or slow means "try again shortly" and keeps the grant (`entraFailure`).
   */
  currentToken(g: OpenedGrant, at: number): Promise<string>;
}

export function createUpstreamRenewal(
  config: Pick<Config, "entra" | "publicUrl">,
  deps: { grants: GrantService; upstream: UpstreamClient; logger: Logger },
): UpstreamRenewal {
  const ended = async (g: OpenedGrant, failure: Failure) => {
    await deps.grants.end(g.grantId);
    deps.logger.warn("grant ended: Entra ended the sign-in", {
      oid: g.grant.oid,
      client: g.grant.clientId,
      reason: failure.reason,
    });
  };
  return {
    async currentToken(g, at) {
      const { grant, grantId, grantKey, etag } = g;
      const upstream = await deps.grants.openUpstream(grantId, grant, grantKey);
      if (upstream.expiresAt - RENEW_BEFORE_MS > at) return upstream.accessToken;
      if (!upstream.refreshToken) {
        const failure = new Failure(
          "reauthenticate",
          "Your Microsoft Entra sign-in has expired. Reconnect to this server to sign in again.",
        );
        await ended(g, failure);
        throw failure;
      }
      let next: UpstreamTokens;
      try {
        next = await deps.upstream.refresh(upstream.refreshToken, grant.tid);
      } catch (err) {
        const failure = entraFailure(config, err, "renewing your sign-in");
        deps.logger.warn("upstream refresh failed", {
          oid: grant.oid,
          reason: failure.reason,
          error: (err as Error).message.slice(0, 300),
        });
        // RFC 6749 §5.2 invalid_grant at Entra: the grant it backs is over.
        if (failure.reason === "reauthenticate") await ended(g, failure);
        throw failure;
      }
      await deps.grants.saveUpstream(grantId, grant, etag, grantKey, {
        ...next,
        refreshToken: next.refreshToken ?? upstream.refreshToken,
        refreshExpiresAt: next.refreshToken ? next.refreshExpiresAt : upstream.refreshExpiresAt,
      });
      return next.accessToken;
    },
  };
}
