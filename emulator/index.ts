// Local emulator of Microsoft Entra ID (HTTPS, plus its browser pages on plain HTTP on loopback),
// Microsoft Graph (HTTPS) and the App Service managed-identity endpoint (HTTP). See emulator/README.md.
import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { ADMIN_PATH, mountAdmin } from "./admin.ts";
import { mountAuthorize } from "./authorize.ts";
import { ensureCa } from "./ca.ts";
import { mountDiscovery } from "./discovery.ts";
import { CA_CLAIMS } from "./errors.ts";
import type { FaultInfo, FaultSpec } from "./faults.ts";
import { mountGraph } from "./graph.ts";
import { json } from "./http.ts";
import { type SigningKey, type SignOptions, signJwt } from "./keys.ts";
import { mountManagedIdentity } from "./mi.ts";
import { type EmulatorOptions, type GraphFault, KNOWN_COUNTS, State } from "./state.ts";
import { GRAPH_RESOURCE, MANAGED_IDENTITY, type User } from "./tenant.ts";
import { mountToken } from "./token.ts";

export { ensureCa } from "./ca.ts";
export type { FaultAnswer, FaultInfo, FaultSpec, FaultTarget } from "./faults.ts";
export { parseFaultFlag } from "./faults.ts";
export type { SigningKey, SignOptions } from "./keys.ts";
export type { EmulatorOptions } from "./state.ts";

export interface StartOptions {
  /** Entra (HTTPS) port; 0 or absent = a free port. */
  port?: number;
  /** Graph (HTTPS) port. */
  graphPort?: number;
  /** Managed-identity endpoint (HTTP) port. */
  identityPort?: number;
  /** Plain-HTTP loopback port of the browser pages and the admin endpoint. */
  browserPort?: number;
  /** Folder of the local CA (default <repo>/.local/emulator-ca). */
  caDir?: string;
  /** Clock in milliseconds (default Date.now). */
  now?: () => number;
  /** Behaviour switches; also mutable later through `emulator.options`. */
  options?: Partial<EmulatorOptions>;
}

export interface EmulatorUser extends Omit<User, "photo" | "id" | "userPrincipalName"> {
  oid: string;
  upn: string;
  id: string;
  userPrincipalName: string;
  hasPhoto: boolean;
  /** True when seeded with consent to the API app's Graph User.Read. */
  consented: boolean;
}

export type FaultKind =
  | "discovery"
  | "jwks"
  | "authorize"
  | "token"
  | "token.authorization_code"
  | "token.refresh_token"
  | "token.obo"
  | "token.client_credentials"
  | "mi"
  | "graph"
  | "graph.me"
  | "graph.photo"
  | "graph.messages"
  | "graph.calendarView"
  | "graph.people";

export interface Emulator {
  issuer: string;
  authorityHost: string;
  /**
   * `http://127.0.0.1:<port>`: the same `/{tenant}/oauth2/v2.0/authorize` (and sign-in, consent,
   * logout) pages as `authorityHost`, over plain HTTP so a browser shows no certificate warning.
   * Discovery's `authorization_endpoint` and `end_session_endpoint` point here.
   */
  browserAuthorityHost: string;
  /** The admin endpoint for faults (loopback, non-browser clients only). */
  adminUrl: string;
  tenantId: string;
  tenantDomain: string;
  graphBaseUrl: string;
  identityEndpoint: string;
  identityHeader: string;
  caPath: string;
  /** The CA certificate (PEM), for clients that take a `ca` option. */
  caPem: string;
  apiApp: {
    clientId: string;
    appIdUri: string;
    /** The Graph permissions the registration asks for, fully qualified (what `.default` and admin consent cover). */
    readonly requiredScopes: readonly string[];
    scope: string;
    displayName: string;
    objectId: string;
    readonly redirectUris: readonly string[];
    addRedirectUri(uri: string): void;
  };
  publicClient: {
    clientId: string;
    displayName: string;
    readonly redirectUris: readonly string[];
    addRedirectUri(uri: string): void;
  };
  managedIdentity: { clientId: string; principalId: string; resourceId: string };
  users: EmulatorUser[];
  options: EmulatorOptions;
  serverEnv(): Record<string, string>;
  faults: {
    failNextObo(code: number): void;
    failNextGraph(fault: GraphFault): void;
    delayNext(kind: FaultKind, ms: number): void;
    /** 5xx, 429 with Retry-After, hang or reset at an endpoint, `times` times or until cleared. */
    add(spec: FaultSpec): FaultInfo;
    list(): FaultInfo[];
    /** Clears one fault added with `add` (by id), or everything (also failNext… and delays). */
    clear(id?: string): void;
  };
  counts(): Record<string, number>;
  resetCounts(): void;
  /** Grants `scopes` (fully qualified, e.g. `https://graph.microsoft.com/Mail.Read`; default: the app's required ones). */
  grantConsent(oid: string, clientId: string, scopes?: string[]): void;
  /** Revokes `scopes`, or everything the user granted the client. */
  revokeConsent(oid: string, clientId: string, scopes?: string[]): void;
  /** What the user has consented to for the client, fully qualified. */
  consentedScopes(oid: string, clientId: string): string[];
  /**
   * Conditional Access on Microsoft Graph: the user's On-Behalf-Of exchanges for Graph fail with `code`
   * (50076 MFA required, 50079 MFA enrolment, 53003 blocked) and a claims challenge, until the user signs
   * in again with those claims (`claims` on /authorize), which completes the emulated MFA.
   */
  conditionalAccess: {
    require(oid: string, policy?: { code?: 50076 | 50079 | 53003; claims?: string }): void;
    clear(oid?: string): void;
  };
  /** Continuous Access Evaluation events. */
  cae: {
    /**
     * "Revoke sessions" for a user: refresh tokens and OBO assertions issued before now stop working
     * (AADSTS50173), and Graph challenges CAE-capable tokens issued before now (`insufficient_claims`).
     */
    revokeSessions(oid: string): void;
  };
  /**
   * Assigns an app role the API app declares (`MCP.Admin`) to a user (oid or UPN): tokens issued from
   * then on for the API app carry it in `roles`, as Entra's do. Unknown roles and users throw.
   */
  assignAppRole(user: string, role: string): void;
  /** Removes one app role (or all) of a user on the API app; tokens already issued keep theirs. */
  removeAppRole(user: string, role?: string): void;
  /** Graph's `revokeSignInSessions`: every refresh token of the user stops working (AADSTS50173). */
  revokeSignInSessions(oid: string): void;
  /** A v2 access token for the API app (Adele, via the public client) with claims overridden; `undefined` removes a claim. */
  mintAccessToken(claimsOverride?: Record<string, unknown>, opts?: SignOptions): Promise<string>;
  /** A delegated v1 Graph token (Adele, User.Read) with claims overridden, signed like real Graph tokens. */
  mintGraphToken(claimsOverride?: Record<string, unknown>, opts?: SignOptions): Promise<string>;
  readonly signingKeys: { readonly current: SigningKey; readonly all: readonly SigningKey[] };
  rotateSigningKey(): Promise<SigningKey>;
  stop(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function withFallbacks(app: Hono): Hono {
  app.notFound(() =>
    json({ error: "not_found", error_description: "The requested resource was not found." }, 404),
  );
  app.onError((err) => json({ error: "server_error", error_description: String(err?.message ?? err) }, 500));
  return app;
}

export async function start(opts: StartOptions = {}): Promise<Emulator> {
  const ca = await ensureCa(opts.caDir);
  const tls = await ca.issueServerCert();
  const now = opts.now ?? Date.now;

  const entraApp = new Hono();
  const graphApp = new Hono();
  const miApp = new Hono();
  const mk = (app: Hono, https: boolean) =>
    createAdaptorServer(
      https
        ? {
            fetch: app.fetch,
            createServer: createHttpsServer,
            serverOptions: { key: tls.key, cert: tls.cert },
          }
        : { fetch: app.fetch },
    ) as unknown as Server;
  const browserApp = new Hono();
  const servers = [mk(entraApp, true), mk(graphApp, true), mk(miApp, false), mk(browserApp, false)];
  const [entraPort, graphPort, miPort, browserPort] = await Promise.all([
    listen(servers[0], opts.port ?? 0),
    listen(servers[1], opts.graphPort ?? 0),
    listen(servers[2], opts.identityPort ?? 0),
    listen(servers[3], opts.browserPort ?? 0),
  ]);

  const state = new State(now, `https://127.0.0.1:${entraPort}`);
  state.browserAuthorityHost = `http://127.0.0.1:${browserPort}`;
  Object.assign(state.options, opts.options);
  state.graphBaseUrl = `https://127.0.0.1:${graphPort}/v1.0`;
  state.identityEndpoint = `http://127.0.0.1:${miPort}/msi/token`;
  await state.rotateKey();

  mountDiscovery(entraApp, state);
  mountAuthorize(entraApp, state, { secure: true });
  mountToken(entraApp, state);
  withFallbacks(entraApp);
  mountAdmin(browserApp, state);
  mountAuthorize(browserApp, state, { secure: false });
  withFallbacks(browserApp);
  mountGraph(graphApp, state);
  withFallbacks(graphApp);
  mountManagedIdentity(miApp, state);
  withFallbacks(miApp);

  const api = state.api;
  const adele = state.users[0];
  const revokeSignInSessions = (oid: string) => {
    for (const rec of state.refreshTokens.values()) if (rec.oid === oid) rec.sessionsRevokedAt = state.now();
  };
  const emulator: Emulator = {
    issuer: state.issuer,
    authorityHost: state.authorityHost,
    browserAuthorityHost: state.browserAuthorityHost,
    adminUrl: `${state.browserAuthorityHost}${ADMIN_PATH}`,
    tenantId: state.tenantId,
    tenantDomain: state.tenantDomain,
    graphBaseUrl: state.graphBaseUrl,
    identityEndpoint: state.identityEndpoint,
    identityHeader: state.identityHeader,
    caPath: ca.caPath,
    caPem: ca.certPem,
    apiApp: {
      clientId: api.clientId,
      appIdUri: api.appIdUri!,
      scope: "user_impersonation",
      get requiredScopes() {
        return api.requiredScopes;
      },
      displayName: api.displayName,
      objectId: api.objectId,
      get redirectUris() {
        return api.redirectUris;
      },
      addRedirectUri: (uri) => {
        if (!api.redirectUris.includes(uri)) api.redirectUris.push(uri);
      },
    },
    publicClient: {
      clientId: state.publicClient.clientId,
      displayName: state.publicClient.displayName,
      get redirectUris() {
        return state.publicClient.redirectUris;
      },
      addRedirectUri: (uri) => {
        if (!state.publicClient.redirectUris.includes(uri)) state.publicClient.redirectUris.push(uri);
      },
    },
    managedIdentity: { ...MANAGED_IDENTITY },
    users: state.users.map((u) => {
      const { photo, ...rest } = u;
      return {
        ...rest,
        oid: u.id,
        upn: u.userPrincipalName,
        hasPhoto: photo !== null,
        consented: state.consents.has(u.id, api.clientId, `${GRAPH_RESOURCE}/User.Read`),
      };
    }),
    options: state.options,
    serverEnv: () => ({
      ENTRA_TENANT_ID: state.tenantId,
      ENTRA_AUTHORITY_HOST: state.authorityHost,
      ENTRA_BROWSER_AUTHORITY_HOST: state.browserAuthorityHost,
      ENTRA_CLIENT_ID: api.clientId,
      ENTRA_APP_ID_URI: api.appIdUri!,
      MANAGED_IDENTITY_CLIENT_ID: MANAGED_IDENTITY.clientId,
      GRAPH_BASE_URL: state.graphBaseUrl,
      IDENTITY_ENDPOINT: state.identityEndpoint,
      IDENTITY_HEADER: state.identityHeader,
      NODE_EXTRA_CA_CERTS: ca.caPath,
    }),
    faults: {
      failNextObo: (code) => void state.faults.obo.push(code),
      failNextGraph: (fault) => void state.faults.graph.push(fault),
      delayNext: (kind, ms) => {
        const list = state.faults.delays.get(kind) ?? [];
        list.push(ms);
        state.faults.delays.set(kind, list);
      },
      add: (spec) => state.faultSet.add(spec),
      list: () => state.faultSet.list(),
      clear: (id) => {
        if (id !== undefined) {
          state.faultSet.clear(id);
          return;
        }
        state.faults.obo.length = 0;
        state.faults.graph.length = 0;
        state.faults.delays.clear();
        state.faultSet.clear();
      },
    },
    counts: () => {
      const out: Record<string, number> = {};
      for (const k of KNOWN_COUNTS) out[k] = 0;
      for (const [k, v] of state.counts) out[k] = v;
      return out;
    },
    resetCounts: () => state.counts.clear(),
    grantConsent: (oid, clientId, scopes) => {
      const app = state.app(clientId);
      state.consents.grant(oid, clientId, scopes ?? app?.requiredScopes ?? []);
    },
    revokeConsent: (oid, clientId, scopes) => state.consents.revoke(oid, clientId, scopes),
    consentedScopes: (oid, clientId) => state.consents.list(oid, clientId),
    conditionalAccess: {
      require: (oid, policy = {}) =>
        void state.conditionalAccess.set(oid, {
          code: policy.code ?? 50076,
          claims: policy.claims ?? CA_CLAIMS,
        }),
      clear: (oid) =>
        oid === undefined ? state.conditionalAccess.clear() : void state.conditionalAccess.delete(oid),
    },
    assignAppRole: (who, role) => {
      const u = state.user(who);
      if (!u) throw new Error(`no user ${who}`);
      state.appRoles.assign(u.id, api, role);
    },
    removeAppRole: (who, role) => {
      const u = state.user(who);
      if (!u) throw new Error(`no user ${who}`);
      state.appRoles.remove(u.id, api, role);
    },
    cae: {
      revokeSessions: (oid) => {
        revokeSignInSessions(oid);
        state.tokensValidFrom.set(oid, state.now());
        for (const [sid, session] of state.sessions) if (session.oid === oid) state.sessions.delete(sid);
      },
    },
    revokeSignInSessions,
    mintAccessToken: async (claimsOverride = {}, signOpts = {}) => {
      const claims: Record<string, unknown> = state.apiAccessClaims(
        adele,
        state.publicClient.clientId,
        "0",
        "user_impersonation",
        crypto.randomUUID(),
        3600,
      );
      return signJwt(applyOverride(claims, claimsOverride), state.currentKey, signOpts);
    },
    mintGraphToken: async (claimsOverride = {}, signOpts = {}) => {
      const claims = state.graphAccessClaims(
        adele,
        GRAPH_RESOURCE,
        api.clientId,
        "2",
        "User.Read openid profile email",
        3600,
      );
      const merged = applyOverride(claims, claimsOverride);
      if (Object.keys(signOpts).length === 0) return state.signGraph(merged);
      return signJwt(merged, state.currentKey, signOpts);
    },
    get signingKeys() {
      return { current: state.currentKey, all: [...state.keys] };
    },
    rotateSigningKey: () => state.rotateKey(),
    stop: async () => {
      await Promise.all(servers.map(close));
    },
  };
  return emulator;
}

function applyOverride(
  claims: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...claims };
  for (const [k, v] of Object.entries(override)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}
