/**
 * Validates Entra ID v2 access tokens issued for this server's API (Entra-direct mode).
 *
 * Signature against Entra's JWKS (cached; refetched on an unknown `kid` at most once per cooldown; Entra
 * signs every tenant's tokens with the same keys), RS256 only, the issuer of an allowed tenant and the
 * token's own tenant (`iss` = `<authority>/<tid>/v2.0`), audience = the API's client id or App ID URI,
 * `exp`/`nbf` with a small skew, and a delegated (user) token: app-only tokens have no `scp`.
 *
 * A token that passed is remembered until it expires (keyed by the token itself, so only the very same
 * token finds it): a client's calls with one token cost one signature check, not one each. Entra-direct
 * mode has no revocation of its own to check; Entra's (continuous access evaluation) reaches the server
 * through Graph's claims challenges, which the cache does not touch.
 *
 * @module
 */

import { createRemoteJWKSet, customFetch, errors, jwtVerify } from "jose";
import type { Config } from "../config/config.ts";
import { entraUrl } from "../config/paths.ts";
import { ExpiringCache } from "../core/cache.ts";
import { Failure } from "../core/failure.ts";
import type { TokenVerifier, VerifiedToken } from "../core/principal.ts";

export interface EntraVerifierOptions {
  fetch?: typeof fetch;
  now?: () => number;
  /** Seconds of clock skew tolerated on `exp` and `nbf`. */
  clockToleranceSec?: number;
  /** Most verified tokens kept in memory (default 5 000). */
  maxCachedTokens?: number;
}

export type EntraKeySet = ReturnType<typeof createRemoteJWKSet>;

/** The tenant's signing keys, cached; refetched on an unknown `kid` at most once per cooldown. */
export function createEntraKeySet(
  config: Pick<Config, "entra">,
  opts: { fetch?: typeof fetch } = {},
): EntraKeySet {
  const jwksUrl = entraUrl(config, "keys");
  return createRemoteJWKSet(jwksUrl, {
    timeoutDuration: 5_000,
    cooldownDuration: 30_000, // bounds refetches triggered by unknown `kid`s
    cacheMaxAge: 24 * 60 * 60 * 1000, // Entra's guidance: refresh daily
    ...(opts.fetch ? { [customFetch]: opts.fetch } : {}),
  });
}

export function createEntraVerifier(
  config: Pick<Config, "entra">,
  opts: EntraVerifierOptions & { keySet?: EntraKeySet } = {},
): TokenVerifier {
  const { entra } = config;
  const jwks = opts.keySet ?? createEntraKeySet(config, opts);
  const audiences = [entra.clientId, entra.appIdUri];
  const requiredScope = entra.scope;
  const now = opts.now ?? Date.now;
  const passed = new ExpiringCache<VerifiedToken>({ maxEntries: opts.maxCachedTokens ?? 5_000, now });

  return {
    async verify(token) {
      const hit = passed.get(token);
      if (hit) return hit;
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          algorithms: ["RS256"],
          issuer: entra.issuers,
          audience: audiences,
          clockTolerance: opts.clockToleranceSec ?? 60,
          currentDate: new Date(now()),
          requiredClaims: ["exp", "tid", "oid"],
        }));
      } catch (err) {
        // Keys we could not fetch are our problem, not the caller's: answer 503, not a 401 that restarts sign-in.
        if (
          !(err instanceof errors.JOSEError) ||
          err instanceof errors.JWKSTimeout ||
          err instanceof errors.JWKSInvalid
        ) {
          throw new Failure("upstream_unavailable", "Entra ID signing keys are unavailable; retry shortly");
        }
        throw new Failure("invalid_token", describe(err));
      }
      const tid = String(payload.tid).toLowerCase();
      // A multi-tenant server accepts several issuers: each token must come from its own tenant's.
      if (!entra.allowedTenants.includes(tid) || payload.iss !== `${entra.authorityHost}/${tid}/v2.0`) {
        throw new Failure("invalid_token", "The token's tenant is not allowed to use this server");
      }
      const scp = typeof payload.scp === "string" ? payload.scp.split(" ").filter(Boolean) : [];
      if (!scp.includes(requiredScope)) {
        throw new Failure("insufficient_scope", `The token lacks the "${requiredScope}" scope`);
      }
      const verified: VerifiedToken = {
        expiresAt: Number(payload.exp),
        principal: {
          tenantId: tid,
          objectId: String(payload.oid).toLowerCase(),
          name: typeof payload.name === "string" ? payload.name : undefined,
          username: typeof payload.preferred_username === "string" ? payload.preferred_username : undefined,
          scopes: scp.map((s) => `${entra.appIdUri}/${s}`),
          clientId: typeof payload.azp === "string" ? payload.azp : undefined,
          roles: Array.isArray(payload.roles)
            ? payload.roles.filter((r): r is string => typeof r === "string")
            : [],
          userAssertion: async () => token,
        },
      };
      passed.set(token, verified, verified.expiresAt * 1000);
      return verified;
    },
  };
}

/** A short reason for the challenge; never echoes the token. */
function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "The token has expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "nbf") return "The token is not yet valid";
    return `The token's "${err.claim}" claim is not valid for this server`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return "The token's signing algorithm is not accepted";
  if (err instanceof errors.JWKSNoMatchingKey) return "The token was signed with an unknown key";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "The token's signature is not valid";
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return "The token is malformed";
  return "The token could not be verified";
}
