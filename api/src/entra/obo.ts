/**
 * Graph tokens On-Behalf-Of the signed-in user, secretlessly.
 *
 * The server's app registration authenticates to Entra with a client assertion: a fresh managed-identity
 * token for `api://AzureADTokenExchange`, which the app's federated identity credential trusts. No client
 * secret exists. MSAL refreshes the managed-identity token before it expires, so an assertion is never
 * used past its life.
 *
 * Each tool asks for exactly the Graph permissions it declares, not `.default`: a permission the user has
 * not granted then fails only the tools that need it, with a consent link for that permission. Graph
 * tokens are cached per user (`tid` + `oid`) and scope set (so one entry per distinct tool permission set)
 * until five minutes before they expire, in a bounded LRU, and concurrent requests for the same key share
 * one exchange, which has a deadline.
 *
 * The exchange declares the `cp1` client capability (Continuous Access Evaluation): Graph may then revoke
 * a token early with a claims challenge, which `getToken` answers by exchanging again with those claims.
 *
 * @module
 */
import { ManagedIdentityCredential, OnBehalfOfCredential, type TokenCredential } from "@azure/identity";
import type { Config } from "../config/config.ts";
import { ExpiringCache } from "../core/cache.ts";
import { DEADLINES, quickRetryDelay, sleep } from "../core/deadlines.ts";
import { Failure } from "../core/failure.ts";
import type { Principal } from "../core/principal.ts";
import { inSpan, SpanKind, telemetry } from "../core/telemetry.ts";
import { entraFailure, entraReason } from "./errors.ts";

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
  /** The deadline of one exchange (default `DEADLINES.oboMs`). */
  deadlineMs?: number;
}

const EARLY_RENEWAL_MS = 5 * 60 * 1000;

export function createOboProvider(
  config: Pick<Config, "entra" | "publicUrl" | "managedIdentityClientId">,
  opts: OboOptions = {},
): GraphTokenProvider {
  const now = opts.now ?? Date.now;
  // Graph tokens until five minutes before they expire (then the next call exchanges again).
  const cache = new ExpiringCache<string>({ maxEntries: opts.maxEntries ?? 5_000, now });
  const inflight = new Map<string, Promise<string>>();
  const getAssertion = opts.getAssertion ?? createAssertionProvider(config);
  const deadlineMs = opts.deadlineMs ?? DEADLINES.oboMs;

  const keyOf = (p: Principal, scopes: string[]) =>
    `${p.tenantId}:${p.objectId}:${[...scopes].sort().join(" ")}`;

  async function attempt(
    principal: Principal,
    scopes: string[],
    signal: AbortSignal,
    claims?: string,
  ): Promise<string> {
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
      // The SDK would retry a 5xx three times and wait out any Retry-After (120 s, say): this layer decides.
      retryOptions: { maxRetries: 0 },
    };
    const credential = new OnBehalfOfCredential(options);
    // enableCae: MSAL sends the `cp1` client capability (`xms_cc`) with every exchange, merged with `claims`.
    const result = await credential.getToken(scopes, {
      abortSignal: signal,
      enableCae: true,
      ...(claims ? { claims } : {}),
    });
    const key = keyOf(principal, scopes);
    cache.set(key, result.token, result.expiresOnTimestamp - EARLY_RENEWAL_MS);
    return result.token;
  }

  /**
   * The exchange within `DEADLINES.oboMs` (renewing the user's sign-in and the client assertion included),
   * with at most one quick retry when Entra was unavailable. Nothing waits past the deadline, so a stuck
   * exchange that the user's other calls share ends for all of them, and the next call starts afresh.
   */
  async function exchange(principal: Principal, scopes: string[], claims?: string): Promise<string> {
    const controller = new AbortController();
    const endAt = now() + deadlineMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const failure = new Failure(
          "upstream_unavailable",
          `Microsoft Entra ID did not complete the token exchange within ${deadlineMs / 1000} seconds; try again shortly.`,
        );
        controller.abort(failure);
        reject(failure);
      }, deadlineMs);
    });
    const once = () => Promise.race([attempt(principal, scopes, controller.signal, claims), deadline]);
    try {
      return await inSpan(
        "entra.obo",
        { "enduser.tenant_id": principal.tenantId, "enduser.id": principal.objectId },
        async () => {
          try {
            return await once();
          } catch (err) {
            const failure = entraFailure(config, err, "the token exchange", { scopes });
            const wait =
              failure.reason === "upstream_unavailable" && !controller.signal.aborted
                ? quickRetryDelay(failure.retryAfterSec, endAt - now())
                : undefined;
            if (wait === undefined) throw failure;
            await Promise.race([sleep(wait, controller.signal), deadline]);
            return await once();
          }
        },
        SpanKind.CLIENT,
      );
    } catch (err) {
      const failure = entraFailure(config, err, "the token exchange", { scopes });
      telemetry.oboFailure(failure.reason);
      throw failure;
    } finally {
      clearTimeout(timer);
      controller.abort();
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
      if (hit !== undefined) {
        telemetry.oboCache("hit");
        return hit;
      }
      let pending = inflight.get(key);
      telemetry.oboCache(pending ? "joined" : "miss");
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
    assertionCredential ??= new ManagedIdentityCredential({
      clientId: config.managedIdentityClientId,
      // One quick retry; the callers' deadlines bound the rest.
      retryOptions: { maxRetries: 1, retryDelayInMs: DEADLINES.quickRetryDelayMs },
    });
    try {
      const t = await assertionCredential.getToken(TOKEN_EXCHANGE_SCOPE);
      if (!t) throw new Error("The managed identity returned no token");
      return t.token;
    } catch (err) {
      // The identity endpoint down, throttling or unreachable passes; anything else is the setup.
      if (entraReason(err) === "upstream_unavailable") {
        throw new Failure(
          "upstream_unavailable",
          "The server's managed identity endpoint is unavailable right now; try again shortly.",
          { cause: err },
        );
      }
      throw new Failure(
        "server_misconfigured",
        "The server could not get its managed identity token, so it cannot call Microsoft Entra ID. " +
          "Check that the Function App's user-assigned identity is attached and MANAGED_IDENTITY_CLIENT_ID names it.",
        { cause: err },
      );
    }
  };
}
