/**
 * Which clients the authorization server knows, in the MCP spec's order of preference: pre-registered
 * clients from configuration, Client ID Metadata Documents (the `client_id` is an HTTPS URL), then
 * clients that registered themselves (RFC 7591), which expire when unused.
 *
 * @module
 */

import { randomToken, sha256b64url } from "../../core/encoding.ts";
import type { Store } from "../../store/store.ts";
import { AsError, OAuthErrorCode } from "../errors.ts";
import type { CimdResolver } from "./cimd.ts";
import type { ClientMetadata, ClientRecord } from "./metadata.ts";

export interface ClientRegistry {
  /**
   * The client, or throws `AsError` (`invalid_client`) with a description safe to show. Every successful
   * resolve is a use: it extends a dynamic registration's lifetime.
   */
  resolve(clientId: string): Promise<ClientRecord>;
  /** Registers a client; a confidential one (`client_secret_*`) also gets its secret, returned only here. */
  register(metadata: ClientMetadata): Promise<{ record: ClientRecord; secret?: string }>;
}

/** Stored instead of a client secret: a secret has 256 random bits, so one SHA-256 is as good as a slow hash. */
export function hashClientSecret(secret: string): Promise<string> {
  return sha256b64url(secret);
}

/** Dynamically registered clients unused for this long are forgotten. */
export const DCR_TTL_SEC = 90 * 24 * 60 * 60;

export function createClientRegistry(deps: {
  store: Store;
  cimd: CimdResolver;
  preregistered: ClientRecord[];
  now: () => number;
}): ClientRegistry {
  const fixed = new Map(deps.preregistered.map((c) => [c.client_id, c]));
  return {
    async resolve(clientId) {
      const pre = fixed.get(clientId);
      if (pre) return pre;
      if (deps.cimd.accepts(clientId)) return deps.cimd.resolve(clientId);
      // Registered ids are short (`dcr_` + 24 characters); anything long is unknown, not a storage key.
      const entry =
        clientId.length <= 64
          ? await deps.store.get<ClientRecord & { lastUsed: number }>("client", clientId)
          : undefined;
      if (!entry) {
        throw new AsError({
          code: OAuthErrorCode.InvalidClient,
          reason: "unknown_client",
          description: `Unknown client_id "${clientId.slice(0, 100)}". Register the client again.`,
        });
      }
      // Sliding expiry: a registration lives on while it is used (authorize, code, refresh, revoke). It is
      // written again only once less than half its lifetime remains, so a busy client costs no write per
      // request, and one used at least every 45 days never lapses.
      if (entry.expiresAt - deps.now() < (DCR_TTL_SEC * 1000) / 2) {
        await deps.store
          .put(
            "client",
            clientId,
            { ...entry.value, lastUsed: deps.now() },
            { ttlSec: DCR_TTL_SEC, ifMatch: entry.etag },
          )
          .catch(() => {});
      }
      const { lastUsed: _unused, ...record } = entry.value;
      return record;
    },
    async register(metadata) {
      const record: ClientRecord = { ...metadata, client_id: `dcr_${randomToken(18)}`, source: "dcr" };
      // A secret only for the clients that ask for one: 256 random bits, kept only as a hash.
      const secret = metadata.token_endpoint_auth_method === "none" ? undefined : randomToken(32);
      if (secret) record.secretHash = await hashClientSecret(secret);
      await deps.store.put(
        "client",
        record.client_id,
        { ...record, lastUsed: deps.now() },
        { ttlSec: DCR_TTL_SEC, ifAbsent: true },
      );
      return { record, secret };
    },
  };
}
