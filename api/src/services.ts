/**
 * Every service the server runs on, built once from the configuration and the host's side effects.
 *
 * Both hosts build the app through here (`createApp`), and the Functions sweep timer takes its store
 * from here (`createStateStore`), so the rules that pick a service (which store, which token verifier,
 * which authorization server) are written once. No `process.env`, no Node-only API, no I/O while
 * building: hosts hand in what touches the platform.
 *
 * @module
 */

import { signedCookies } from "./authorization-server/browser/cookies.ts";
import { type CimdResolverOptions, createCimdResolver } from "./authorization-server/clients/cimd.ts";
import {
  type AbuseBudgets,
  type Budget,
  type CallerAddress,
  callerKey,
  createAbuseLimits,
  socketAddress,
} from "./authorization-server/clients/rate-limit.ts";
import { createClientRegistry } from "./authorization-server/clients/registry.ts";
import type { AsContext } from "./authorization-server/routes/context.ts";
import { authorizationServerMetadata } from "./authorization-server/routes/metadata.ts";
import { createStepUp } from "./authorization-server/routes/step-up.ts";
import { createGrantService } from "./authorization-server/tokens/grants.ts";
import { createKeyring } from "./authorization-server/tokens/keyring.ts";
import { createProxyVerifier, createUpstreamRenewal } from "./authorization-server/tokens/verifier.ts";
import type { Config } from "./config/config.ts";
import type { GraphPermission } from "./config/graph-permissions.ts";
import { entraUrl, MESSAGES_PATH } from "./config/paths.ts";
import { DEADLINES } from "./core/deadlines.ts";
import { consoleLogger, type Logger } from "./core/log.ts";
import { isLoopbackHost } from "./core/loopback.ts";
import type { TokenVerifier } from "./core/principal.ts";
import { createAssertionProvider, createOboProvider, type GraphTokenProvider } from "./entra/obo.ts";
import { createUpstreamClient } from "./entra/upstream.ts";
import { createEntraKeySet, createEntraVerifier } from "./entra/verifier.ts";
import { type Backplane, InProcessBackplane } from "./legacy-sse/backplane.ts";
import { createSseBridge, SSE_DEFAULTS, type SseBridge } from "./legacy-sse/bridge.ts";
import { StoreBackplane } from "./legacy-sse/store-backplane.ts";
import { graphPermissionsOf } from "./mcp/permissions.ts";
import { createMcp } from "./mcp/server.ts";
import type { ToolDefinition } from "./mcp/tool.ts";
import { tools } from "./mcp/tools/index.ts";
import type { AuthorizationServerFacts } from "./resource-server/metadata.ts";
import { createStore } from "./store/index.ts";
import type { Store } from "./store/store.ts";
import { tracedStore } from "./store/traced.ts";

/**
 * The registration budget of a server whose own URL is on loopback (`npm start`, a developer's machine):
 * every client there registers from one address, and connecting a few dozen clients in a minute is
 * ordinary work. A deployment's public URL is never loopback, so production keeps the limiter's defaults.
 */
export const LOCAL_REGISTRATION_BUDGET: Budget = {
  perCaller: [
    { limit: 120, windowSec: 60 },
    { limit: 1000, windowSec: 3600 },
  ],
  overall: { limit: 2000, windowSec: 3600 },
};

/** What a host (or a test) hands in; everything has a default built from the configuration. */
export interface Deps {
  fetch: typeof fetch;
  now: () => number;
  logger: Logger;
  verifier: TokenVerifier;
  graphTokens: GraphTokenProvider;
  tools?: ToolDefinition[];
  /** The client assertion for Entra (the managed identity's token by default). */
  getAssertion: () => Promise<string>;
  /** Proxy-mode state; Table Storage from the configuration by default. */
  store: Store;
  /** DNS for the CIMD fetcher's address checks; hosts pass their platform's resolver. */
  resolveHost: CimdResolverOptions["resolveHost"];
  /** The fetch used for client ID metadata documents (hosts may pin resolved addresses). */
  cimdFetch: CimdResolverOptions["fetch"];
  /** Who is calling, for per-caller limits: the socket's peer by default; the Functions host reads its front end's header. */
  callerAddress: CallerAddress;
  /** Per-caller and overall budgets of the open endpoints (`DEFAULT_BUDGETS` for any left out). */
  budgets: Partial<AbuseBudgets>;
  /** The legacy SSE transport's limits and backplane (defaults: `SSE_DEFAULTS`; the store's backplane when there is a store). */
  sse: SseSettings;
}

export interface SseSettings {
  backplane?: Backplane;
  maxSessionsPerUser?: number;
  keepAliveMs?: number;
  idleTimeoutMs?: number;
  maxLifetimeMs?: number;
}

export interface Services {
  config: Config;
  logger: Logger;
  now: () => number;
  /** The tools the MCP server serves. */
  tools: ToolDefinition[];
  /** The delegated Graph permissions the tools declare: what the server asks users (or an admin) to grant. */
  graphPermissions: GraphPermission[];
  /** The MCP server (Streamable HTTP). */
  mcp: ReturnType<typeof createMcp>;
  /** The legacy HTTP+SSE transport over the same MCP server. */
  sse: SseBridge;
  /** Who checks bearer tokens at the MCP endpoints. */
  verifier: TokenVerifier;
  /** The authorization server the Protected Resource Metadata names: Entra ID, or this server in proxy mode. */
  authorizationServerMetadata: AuthorizationServerFacts;
  /** Proxy mode: the authorization server this server runs in front of Entra ID. */
  authorizationServer?: AsContext;
  /** The state store, when there is one (for the health check). */
  store?: Store;
  /** The fetch outbound calls use (for the health check). */
  fetch: typeof fetch;
}

export type Reachability = "ok" | "unavailable";

/**
 * The health check's view of what the server depends on: `storage` (when there is a store) and `entra`
 * (its OpenID configuration). Each is checked within `DEADLINES.healthCheckMs`, at most once every
 * `everyMs` whatever the traffic (the endpoint is public), and concurrent callers share one check.
 */
export function createHealthChecks(
  services: Pick<Services, "store" | "fetch" | "config" | "now">,
  everyMs = 5_000,
): () => Promise<Record<string, Reachability>> {
  let last: { at: number; result: Record<string, Reachability> } | undefined;
  let running: Promise<Record<string, Reachability>> | undefined;
  const within = async (work: () => Promise<unknown>): Promise<Reachability> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), DEADLINES.healthCheckMs);
    });
    try {
      await Promise.race([work(), timeout]);
      return "ok";
    } catch {
      return "unavailable";
    } finally {
      clearTimeout(timer);
    }
  };
  const run = async () => {
    const { store, config } = services;
    const [storage, entra] = await Promise.all([
      store ? within(() => store.get("health", "probe")) : Promise.resolve(undefined),
      within(async () => {
        const res = await services.fetch(`${config.entra.issuer}/.well-known/openid-configuration`, {
          signal: AbortSignal.timeout(DEADLINES.healthCheckMs),
        });
        await res.body?.cancel();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      }),
    ]);
    return { ...(storage ? { storage } : {}), entra };
  };
  return async () => {
    if (last && services.now() - last.at < everyMs) return last.result;
    running ??= run()
      .then((result) => {
        last = { at: services.now(), result };
        return result;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
}

/**
 * The state store, or none: proxy mode keeps its state in one; Entra-direct mode has one only when a
 * table is configured (the SSE backplane then keeps its sessions there, so instances share them).
 */
export function createStateStore(config: Config, deps: { now?: () => number } = {}): Store | undefined {
  return config.authMode === "proxy" || config.storage.tableEndpoint
    ? createStore(config, { managedIdentityClientId: config.managedIdentityClientId, now: deps.now })
    : undefined;
}

export function createServices(config: Config, deps: Partial<Deps> = {}): Services {
  const logger = deps.logger ?? consoleLogger;
  const now = deps.now ?? Date.now;
  const getAssertion = deps.getAssertion ?? createAssertionProvider(config);
  const entraKeys = createEntraKeySet(config, { fetch: deps.fetch });
  const entraVerifier = createEntraVerifier(config, { fetch: deps.fetch, now, keySet: entraKeys });
  const graphTokens = deps.graphTokens ?? createOboProvider(config, { now, getAssertion });
  const served = deps.tools ?? tools;
  const graphPermissions = graphPermissionsOf(served);
  const mcp = createMcp(config, { graphTokens, fetch: deps.fetch, logger, tools: served });
  const untraced = deps.store ?? createStateStore(config, { now });
  const store = untraced && tracedStore(untraced);
  // The SSE backplane polls its rows: those reads would be a span each, so it gets the store untraced.
  const sse = createLegacySse(config, deps.sse ?? {}, { store: untraced, mcp, logger, now });

  // What both modes serve alike.
  const common = {
    config,
    logger,
    now,
    tools: served,
    graphPermissions,
    mcp,
    sse,
    store,
    fetch: deps.fetch ?? fetch,
  };

  if (config.authMode === "entra") {
    return {
      ...common,
      verifier: deps.verifier ?? entraVerifier,
      authorizationServerMetadata: {
        issuer: config.entra.issuer,
        authorization_endpoint: entraUrl(config, "authorize").href,
        token_endpoint: entraUrl(config, "token").href,
        response_types_supported: ["code"],
      },
    };
  }

  if (!store) throw new Error("proxy mode needs a store");
  const keyring = createKeyring(store);
  const limits = createAbuseLimits({
    increment: (key, windowSec) => store.increment("ratelimit", key, windowSec),
    now,
    budgets: {
      ...(isLoopbackHost(config.publicOrigin.hostname) ? { register: LOCAL_REGISTRATION_BUDGET } : {}),
      ...deps.budgets,
    },
  });
  const grants = createGrantService(config, { store, keyring, now });
  const stepUp = createStepUp({ config, store });
  const upstream = createUpstreamClient(config, { getAssertion, fetch: deps.fetch, now });
  const cimd = createCimdResolver({
    fetch: deps.cimdFetch ?? ((url, init) => (deps.fetch ?? fetch)(url, init)),
    resolveHost:
      deps.resolveHost ??
      (async () => {
        throw new Error("this host provides no DNS resolver for client ID metadata documents");
      }),
    now,
    logger,
    allowLoopbackHttp: config.oauth.cimdAllowLoopbackHttp,
    throttle: async (host) => (await limits.cimdHost.hit(host)).allowed,
  });
  const clients = createClientRegistry({
    store,
    cimd,
    now,
    preregistered: config.oauth.preregisteredClients.map((c) => ({
      ...c,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      application_type: "native",
      source: "preregistered",
    })),
  });
  return {
    ...common,
    store,
    verifier:
      deps.verifier ??
      createProxyVerifier(config, {
        grants,
        upstream,
        logger,
        now,
        startStepUp: (g, claims) => stepUp.start(g, claims),
      }),
    authorizationServerMetadata: authorizationServerMetadata(config),
    authorizationServer: {
      config,
      store,
      keyring,
      grants,
      clients,
      upstream,
      graphPermissions,
      renewal: createUpstreamRenewal(config, { grants, upstream, logger }),
      entraVerifier,
      entraKeys,
      cookies: signedCookies({
        secure: config.publicOrigin.secure,
        hmacKey: async () => (await keyring.load(now())).hmac,
        now,
      }),
      limits,
      callerAddress: (c) => callerKey((deps.callerAddress ?? socketAddress)(c)),
      logger,
      now,
    },
  };
}

function createLegacySse(
  config: Config,
  settings: SseSettings,
  deps: { store: Store | undefined; mcp: Services["mcp"]; logger: Logger; now: () => number },
): SseBridge {
  const { store, logger, now } = deps;
  const maxSessionsPerUser = settings.maxSessionsPerUser ?? SSE_DEFAULTS.maxSessionsPerUser;
  const maxLifetimeMs = settings.maxLifetimeMs ?? SSE_DEFAULTS.maxLifetimeMs;
  return createSseBridge({
    backplane:
      settings.backplane ??
      (store
        ? new StoreBackplane(store, {
            maxSessionsPerOwner: maxSessionsPerUser,
            maxSessionLifetimeMs: maxLifetimeMs,
            logger,
            now,
          })
        : new InProcessBackplane({ maxSessionsPerOwner: maxSessionsPerUser })),
    mcp: deps.mcp,
    mcpUrl: config.resource,
    messagesPath: MESSAGES_PATH,
    logger,
    maxSessionsPerUser,
    keepAliveMs: settings.keepAliveMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    maxLifetimeMs,
    now,
  });
}
