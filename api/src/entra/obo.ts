/**
 * Graph tokens On-Behalf-Of the signed-in user, secretlessly.
 *
 * The server's app registration authenticates to Entra with a client assertion: a fresh managed-identity
 * token for `api://AzureADTokenExchange`, which the app's federated identity credential trusts. No client
 * secret exists. MSAL refreshes the managed-identity token before it expires, so an assertion is never
 * used past its life.
 *
 * Each tool asks for exactly the Graph permissions it declares, not `.default`: a permission the user has
 * not granted then fails only the tools that need it, with a consent link for that permission, and the
 * exchange's `AADSTS65001` says which tool lacks what. Graph tokens are cached per user (`tid` + `oid`) and
 * scope set (so one entry per distinct tool permission set) until five minutes before they expire, in a
 * bounded LRU, and concurrent requests for the same key share one exchange.
 *
 * The exchange declares the `cp1` client capability (Continuous Access Evaluation): Graph may then revoke
 * a token early with a claims challenge, which `getToken` answers by exchanging again with those claims.
 *
 * @module
 */
import { ManagedIdentityCredential, OnBehalfOfCredential, type TokenCredential } from "@azure/identity";
import type { Config } from "../config/config.ts";
import { Failure } from "../core/failure.ts";
import type { Principal } from "../core/principal.ts";
import { entraFailure } from "./errors.ts";

export const TOKEN_EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default";
export const GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default";

export interface GraphTokenProvider {
  /** `claims`: a claims challenge (JSON) to satisfy; it bypasses the cache. */
  getToken(principal: Principal, scopes?: string[], opts?: { claims?: string }): Promise<string>;
  /** Drops a cached token Graph refused, so the next call exchanges again. */
  invalidate(principal: Principal, scopes?: string[]): void;
}

export interface OboOptions {
  now?: () => number;
  maxEntries?: number;
  /** The client assertion (see `createAssertionProvider`); the user-assigned managed identity's token by default. */
  getAssertion?: () => Promise<string>;
}

const EARLY_RENEWAL_MS = 5 * 60 * 1000;

export function createOboProvider(
  config: Pick<Config, "entra" | "publicUrl" | "managedIdentityClientId">,
  opts: OboOptions = {},
): GraphTokenProvider {
  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? 5_000;
  const cache = new Map<string, { token: string; renewAt: number }>();
  const inflight = new Map<string, Promise<string>>();
  const getAssertion = opts.getAssertion ?? createAssertionProvider(config);

  const keyOf = (p: Principal, scopes: string[]) =>
    `${p.tenantId}:${p.objectId}:${[...scopes].sort().join(" ")}`;

  async function exchange(principal: Principal, scopes: string[], claims?: string): Promise<string> {
    const options = {
      // The user's own tenant: a multi-tenant app exchanges a guest tenant's token there, not at home.
      tenantId: principal.tenantId,
      clientId: config.entra.clientId,
      getAssertion,
      userAssertionToken: await principal.userAssertion(),
      authorityHost: config.entra.authorityHost,
      // Passed through to MSAL (not in this credential's typings): trust the configured authority as is,
      // which is what lets the offline emulator stand in for login.microsoftonline.com.
      disableInstanceDiscovery: true,
    };
    const credential = new OnBehalfOfCredential(options);
    try {
      // enableCae: MSAL sends the `cp1` client capability (`xms_cc`) with every exchange.
      const result = await credential.getToken(scopes, { enableCae: true, ...(claims ? { claims } : {}) });
      const key = keyOf(principal, scopes);
      cache.delete(key);
      cache.set(key, { token: result.token, renewAt: result.expiresOnTimestamp - EARLY_RENEWAL_MS });
      while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
      return result.token;
    } catch (err) {
      throw entraFailure(config, err, "the token exchange", { scopes });
    }
  }

  return {
    async getToken(principal, scopes = [GRAPH_DEFAULT_SCOPE], opts = {}) {
      const key = keyOf(principal, scopes);
      if (opts.claims) {
        cache.delete(key);
        return exchange(principal, scopes, opts.claims);
      }
      const hit = cache.get(key);
      if (hit && now() < hit.renewAt) {
        cache.delete(key);
        cache.set(key, hit); // most recently used last
        return hit.token;
      }
      let pending = inflight.get(key);
      if (!pending) {
        pending = exchange(principal, scopes).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
    invalidate(principal, scopes = [GRAPH_DEFAULT_SCOPE]) {
      cache.delete(keyOf(principal, scopes));
    },
  };
}

/**
 * The client assertion that replaces a client secret: a managed-identity token for
 * `api://AzureADTokenExchange`, fetched fresh from MSAL's cache on every call (MSAL renews it before it
 * expires), never stored by us.
 */
export function createAssertionProvider(
  config: Pick<Config, "managedIdentityClientId">,
  credential?: TokenCredential,
): () => Promise<string> {
  let assertionCredential = credential;
  return async function getAssertion() {
    assertionCredential ??= new ManagedIdentityCredential({ clientId: config.managedIdentityClientId });
    try {
      const t = await assertionCredential.getToken(TOKEN_EXCHANGE_SCOPE);
      if (!t) throw new Error("The managed identity returned no token");
      return t.token;
    } catch (err) {
      throw new Failure(
        "server_misconfigured",
        "The server could not get its managed identity token, so it cannot call Microsoft Entra ID. " +
          "Check that the Function App's user-assigned identity is attached and MANAGED_IDENTITY_CLIENT_ID names it.",
        { cause: err },
      );
    }
  };
}
