// Shared, mutable emulator state: tenant, keys, grants, sessions, faults, counters, clock.
import { createHash, randomUUID } from "node:crypto";
import { FaultSet } from "./faults.ts";
import { b64url, createSigningKey, randomId, type SigningKey, signGraphJwt, signJwt } from "./keys.ts";
import {
  type AppRegistration,
  AppRoleAssignments,
  ConsentStore,
  MANAGED_IDENTITY,
  type Resource,
  resources,
  seedApps,
  seedUsers,
  TENANT_DOMAIN,
  TENANT_ID,
  type User,
} from "./tenant.ts";

export interface CodeRecord {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  oid: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  nonce?: string;
  sid: string;
  authTime: number;
  issuedAt: number;
  used: boolean;
}

export interface RefreshRecord {
  clientId: string;
  scopes: string[];
  oid: string;
  sid: string;
  issuedAt: number;
  lastUsed: number;
  used: boolean;
  revoked: boolean;
  /** Revoked by `revokeSignInSessions` (Entra answers AADSTS50173), not by rotation. */
  sessionsRevokedAt?: number;
}

export interface Session {
  oid: string;
  sid: string;
  authTime: number;
}

/** A Conditional Access policy on a user's Graph tokens: OBO fails with `code` until the session has MFA. */
export interface ConditionalAccessPolicy {
  code: 50076 | 50079 | 53003;
  /** The claims challenge Entra returns (JSON); a `capolids` challenge by default. */
  claims: string;
}

export interface PendingAuthorization {
  params: Record<string, string>;
  tenantSegment: string;
  createdAt: number;
  oid?: string;
}

export type GraphFault =
  | { status: 429; retryAfter?: number }
  | { status: 500 | 502 | 503 | 504 }
  /**
   * The token was refused as if it had expired or been revoked (Graph's `InvalidAuthenticationToken`);
   * with `claims`, as a CAE claims challenge (`error="insufficient_claims"`).
   */
  | { status: 401; claims?: string };

export const KNOWN_COUNTS = [
  "discovery",
  "jwks",
  "authorize",
  "token.authorization_code",
  "token.refresh_token",
  "token.obo",
  "token.client_credentials",
  "mi",
  "graph.me",
  "graph.photo",
  "graph.messages",
  "graph.calendarView",
  "graph.people",
  "errors",
] as const;

export interface EmulatorOptions {
  /** Fixed access-token lifetime in seconds (default: random 60–90 min like Entra). */
  accessTokenLifetime?: number;
  /** Reject a refresh token once it has been redeemed (real Entra keeps accepting it). */
  strictRefreshTokenRotation: boolean;
  /** Answer any `resource` parameter with the legacy AADSTS901002 instead of the 9010010 check. */
  legacyResourceParameter: boolean;
}

export class State {
  readonly tenantId = TENANT_ID;
  readonly tenantDomain = TENANT_DOMAIN;
  readonly users: User[] = seedUsers();
  readonly consents = new ConsentStore();
  readonly appRoles = new AppRoleAssignments();
  readonly codes = new Map<string, CodeRecord>();
  readonly refreshTokens = new Map<string, RefreshRecord>();
  readonly sessions = new Map<string, Session>();
  readonly pending = new Map<string, PendingAuthorization>();
  readonly counts = new Map<string, number>();
  readonly options: EmulatorOptions = { strictRefreshTokenRotation: false, legacyResourceParameter: false };
  readonly faults = {
    obo: [] as number[],
    graph: [] as GraphFault[],
    delays: new Map<string, number[]>(),
  };
  /** 5xx / 429 / hang / reset faults per endpoint (emulator/faults.ts). */
  readonly faultSet = new FaultSet();
  /** Conditional Access policies per user (oid), enforced at the On-Behalf-Of exchange for Graph. */
  readonly conditionalAccess = new Map<string, ConditionalAccessPolicy>();
  /** CAE: per user (oid), when their sessions were revoked (ms); tokens issued before are refused. */
  readonly tokensValidFrom = new Map<string, number>();
  /** Session ids (`sid`) in which the user completed MFA; outlives the browser session that did it. */
  readonly mfaSessions = new Set<string>();
  keys: SigningKey[] = [];
  authorityHost = "";
  /** Plain-HTTP loopback origin of the pages a person sees (authorize, sign-in, consent, logout). */
  browserAuthorityHost = "";
  graphBaseUrl = "";
  identityEndpoint = "";
  readonly identityHeader = randomUUID();
  readonly api: AppRegistration;
  readonly publicClient: AppRegistration;
  readonly apps: AppRegistration[];
  readonly now: () => number;

  constructor(now: () => number, authorityHost: string) {
    this.now = now;
    this.authorityHost = authorityHost;
    const { api, publicClient } = seedApps(this.issuer);
    this.api = api;
    this.publicClient = publicClient;
    this.apps = [api, publicClient];
    // Adele has consented to the API app's Graph permissions; Alex has not.
    this.consents.grant(this.users[0].id, api.clientId, api.requiredScopes);
  }

  get issuer(): string {
    return `${this.authorityHost}/${this.tenantId}/v2.0`;
  }
  get v1Issuer(): string {
    return `https://sts.windows.net/${this.tenantId}/`;
  }
  get currentKey(): SigningKey {
    return this.keys[this.keys.length - 1];
  }
  get resources(): Resource[] {
    return resources(this.api);
  }

  async rotateKey(): Promise<SigningKey> {
    const key = await createSigningKey(this.now());
    this.keys.push(key);
    // Entra publishes several keys at once; keep the newest five.
    if (this.keys.length > 5) this.keys.splice(0, this.keys.length - 5);
    return key;
  }

  count(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  countError(kind: string): void {
    this.count("errors");
    this.count(`errors.${kind}`);
  }

  takeDelay(kind: string): number {
    for (const [k, list] of this.faults.delays) {
      if ((kind === k || kind.startsWith(`${k}.`)) && list.length) return list.shift()!;
    }
    return 0;
  }

  app(clientId: string): AppRegistration | undefined {
    return this.apps.find((a) => a.clientId === clientId);
  }

  user(idOrUpn: string): User | undefined {
    const lower = idOrUpn.toLowerCase();
    return this.users.find((u) => u.id === idOrUpn || u.userPrincipalName.toLowerCase() === lower);
  }

  /** Pairwise `sub`: stable per (user, application), 43 characters, not equal to oid. */
  pairwiseSub(oid: string, appId: string): string {
    return createHash("sha256").update(`${this.tenantId}|${oid}|${appId}`).digest("base64url");
  }

  clientInfo(oid: string): string {
    return b64url(JSON.stringify({ uid: oid, utid: this.tenantId }));
  }

  accessTokenLifetime(): number {
    return this.options.accessTokenLifetime ?? 3600 + Math.floor(Math.random() * 1801);
  }

  sign(payload: Record<string, unknown>): Promise<string> {
    return signJwt(payload, this.currentKey);
  }

  signGraph(payload: Record<string, unknown>): Promise<string> {
    return signGraphJwt(payload, this.currentKey);
  }

  /**
   * `iat` (seconds) of a user's new token: never within the second before a session revocation, so a token
   * issued just after "revoke sessions" is not mistaken for one from before it.
   */
  issuedAt(oid: string): number {
    const iat = Math.floor(this.now() / 1000);
    const validFrom = this.tokensValidFrom.get(oid);
    return validFrom !== undefined && iat * 1000 < validFrom ? Math.ceil(validFrom / 1000) : iat;
  }

  /** Delegated v2 access token for the API app (aud = its client id GUID). */
  apiAccessClaims(user: User, azp: string, azpacr: string, scp: string, sid: string, lifetime: number) {
    const iat = this.issuedAt(user.id);
    // Entra adds `roles` for the app roles the user is assigned on the resource (absent when none).
    const roles = this.appRoles.of(user.id, this.api);
    return {
      aud: this.api.clientId,
      iss: this.issuer,
      iat,
      nbf: iat,
      exp: iat + lifetime,
      aio: randomId(48),
      azp,
      azpacr,
      name: user.displayName,
      oid: user.id,
      preferred_username: user.userPrincipalName,
      rh: `1.${randomId(24)}.`,
      ...(roles.length ? { roles } : {}),
      scp,
      sid,
      sub: this.pairwiseSub(user.id, this.api.clientId),
      tid: this.tenantId,
      uti: randomId(16),
      ver: "2.0",
    };
  }

  /** Delegated v1-style Graph access token claims. */
  graphAccessClaims(user: User, aud: string, appId: string, appidacr: string, scp: string, lifetime: number) {
    const iat = this.issuedAt(user.id);
    const app = this.app(appId);
    return {
      aud,
      iss: this.v1Issuer,
      iat,
      nbf: iat,
      exp: iat + lifetime,
      acct: 0,
      acr: "1",
      aio: randomId(48),
      amr: ["pwd"],
      app_displayname: app?.displayName ?? appId,
      appid: appId,
      appidacr,
      family_name: user.surname,
      given_name: user.givenName,
      idtyp: "user",
      ipaddr: "127.0.0.1",
      name: user.displayName,
      oid: user.id,
      platf: "3",
      puid: createHash("sha256").update(user.id).digest("hex").slice(0, 16).toUpperCase(),
      rh: `1.${randomId(24)}.`,
      scp,
      sid: randomUUID(),
      sub: this.pairwiseSub(user.id, aud),
      tenant_region_scope: "WW",
      tid: this.tenantId,
      unique_name: user.userPrincipalName,
      upn: user.userPrincipalName,
      uti: randomId(16),
      ver: "1.0",
      xms_st: { sub: this.pairwiseSub(user.id, appId) },
      xms_tcdt: 1700000000,
    };
  }

  /** App-only token claims (v1 for Graph, v2 otherwise): roles instead of scp, sub = oid. */
  appOnlyClaims(
    aud: string,
    appId: string,
    objectId: string,
    v1: boolean,
    lifetime: number,
    roles?: string[],
  ) {
    const iat = Math.floor(this.now() / 1000);
    const base: Record<string, unknown> = {
      aud,
      iss: v1 ? this.v1Issuer : this.issuer,
      iat,
      nbf: iat,
      exp: iat + lifetime,
      aio: randomId(48),
    };
    if (v1)
      Object.assign(base, { app_displayname: this.app(appId)?.displayName, appid: appId, appidacr: "2" });
    else Object.assign(base, { azp: appId, azpacr: "2" });
    Object.assign(base, {
      idp: v1 ? this.v1Issuer : undefined,
      idtyp: "app",
      oid: objectId,
      rh: `1.${randomId(24)}.`,
    });
    if (roles?.length) base.roles = roles;
    Object.assign(base, { sub: objectId, tid: this.tenantId, uti: randomId(16), ver: v1 ? "1.0" : "2.0" });
    if (base.idp === undefined) delete base.idp;
    return base;
  }

  managedIdentityClaims(aud: string, lifetime: number) {
    return this.appOnlyClaims(aud, MANAGED_IDENTITY.clientId, MANAGED_IDENTITY.principalId, false, lifetime);
  }
}
