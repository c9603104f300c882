/**
 * Grants, authorization codes and the tokens this authorization server issues, on the shared `Store`.
 *
 * Storage (see the README's storage layout):
 * - `grant/<id>`: who (tid, oid, name), which client, which scopes, whether the user approved "Stay
 *   signed in" (refresh tokens), and the user's Entra tokens sealed with a random per-grant key. The key is not stored: it
 *   rides inside the tokens the client holds (wrapped under each code or refresh token, and sealed with
 *   the server's token key inside the signed access token, so the token's holder cannot read it), so a
 *   dump of the table alone does not reveal any Entra token (workers-oauth-provider's design).
 * - `code/<sha256(code)>`: single use, ten minutes; spending it twice revokes the grant (RFC 6749 §4.1.2).
 * - `refresh/<sha256(token)>`: rotated on every use (OAuth 2.1 §4.3.1 for public clients). For
 *   `REFRESH_RETRY_WINDOW_SEC` after its rotation, presenting the token again returns the same answer,
 *   byte for byte (a lost response, a retry, a race between two windows or two instances); after that,
 *   presenting it revokes the grant (RFC 9700 §4.14.2). The answer is kept sealed under a key derived
 *   from the presented token, so only its holder can read it.
 *
 * Codes and tokens are stored only as hashes. Each grant is also indexed by user and by client
 * (`grant-index.ts`) for the Connected apps page: a user holds at most `MAX_GRANTS_PER_USER` grants, and
 * signing in again with the same client replaces that client's earlier grant once the new code is
 * redeemed. When a grant was last used is recorded at most once per `LAST_USED_RESOLUTION_MS`, so a
 * request writes to the store only when the recorded time is older than that.
 *
 * The hot path (an MCP request with an access token) costs no storage round trip and no cryptography
 * most of the time: an access token's signature and sealed grant key are checked once and remembered
 * until the token expires, and the grant row is read at most once per `GRANT_STATE_CACHE_MS` per
 * instance. A grant ended on this instance is forgotten at once; on another, within that bound.
 *
 * @module
 */
import { base64url, errors, jwtVerify, SignJWT } from "jose";
import type { Config } from "../../config/config.ts";
import { ExpiringCache } from "../../core/cache.ts";
import { randomToken, sha256b64url } from "../../core/encoding.ts";
import { Failure } from "../../core/failure.ts";
import { telemetry } from "../../core/telemetry.ts";
import type { UpstreamTokens } from "../../entra/upstream.ts";
import { type Entry, type Store, StoreConflictError } from "../../store/store.ts";
import {
  decryptJson,
  encryptJson,
  generateGrantKey,
  openForToken,
  sealForToken,
  unwrapKey,
  wrapKey,
} from "./crypto.ts";
import { createGrantIndex, type GrantRef } from "./grant-index.ts";
import type { Keyring } from "./keyring.ts";

export const ACCESS_TOKEN_TTL_SEC = 60 * 60;
export const REFRESH_TOKEN_TTL_SEC = 30 * 24 * 60 * 60;
export const GRANT_TTL_SEC = 90 * 24 * 60 * 60;
export const CODE_TTL_SEC = 10 * 60;
/**
 * How long after a refresh token was rotated presenting it again returns the same answer (a lost
 * response, a retry, two windows or two instances racing). After it, presenting it is a replay.
 */
export const REFRESH_RETRY_WINDOW_SEC = 60;
/** Most grants one user holds at once; a new one beyond it ends the oldest. */
export const MAX_GRANTS_PER_USER = 25;
/** "Last used" is as precise as this: a use writes it only when the recorded time is older. */
export const LAST_USED_RESOLUTION_MS = 5 * 60 * 1000;
/**
 * How long an instance answers access tokens from the grant row it last read instead of reading it
 * again. This is the bound on revocation: a grant ended on one instance stops working there at once and
 * on every other instance within this many milliseconds.
 */
export const GRANT_STATE_CACHE_MS = 2_000;
/** Most grant rows and verified access tokens one instance keeps in memory. */
const CACHE_ENTRIES = 5_000;

export interface Grant {
  tid: string;
  oid: string;
  name?: string;
  username?: string;
  clientId: string;
  scopes: string[];
  /**
   * The user approved with "Stay signed in" (then `scopes` includes `offline_access`) for a client
   * registered for the `refresh_token` grant: only then are refresh tokens issued. Absent on grants from
   * before it was recorded, which had refresh tokens.
   */
  offline?: boolean;
  /** Entra tokens (`UpstreamTokens`), AES-GCM sealed with the grant key. */
  upstream: string;
  createdAt: number;
  /** The client as the user approved it (absent on grants from before it was recorded). */
  client?: GrantClient;
  /** When a token from this grant was last accepted, to `LAST_USED_RESOLUTION_MS` (ms since the epoch). */
  lastUsedAt?: number;
  /** The sign-in this grant came from (see `PendingAuthorization.correlationId`), for the logs. */
  correlationId?: string;
}

/** What the Connected apps page shows of the client: what the consent page showed. */
export interface GrantClient {
  name: string;
  /** How the client is known: published metadata (`cimd`), self-registered (`dcr`) or `preregistered`. */
  source: "cimd" | "dcr" | "preregistered";
  /** The host that published its metadata (CIMD), else the host its redirect URI points to. */
  host: string;
  redirectUri: string;
}

/** A live grant as the Connected apps page and the administrators' endpoint list it. */
export interface GrantSummary {
  grantId: string;
  tid: string;
  oid: string;
  name?: string;
  username?: string;
  clientId: string;
  client?: GrantClient;
  scopes: string[];
  offline: boolean;
  createdAt: number;
  lastUsedAt?: number;
  expiresAt: number;
  /** The sign-in the grant came from, for the logs. */
  correlationId?: string;
}

interface CodeRow {
  gid: string;
  wrappedKey: string;
  clientId: string;
  redirectUri: string;
  /** Absent on codes from before it was recorded: treated as given (the strict reading). */
  redirectUriGiven?: boolean;
  codeChallenge: string;
  scopes: string[];
  resource?: string;
  used: boolean;
}

interface RefreshRow {
  gid: string;
  wrappedKey: string;
  clientId: string;
  scopes: string[];
  /** The hash of the refresh token issued when this one was used. */
  successor?: string;
  rotatedAt?: number;
  /** The answer given when this token was used (`IssuedTokens`), sealed under this token's secret. */
  answer?: string;
  /** The `scope` parameter of the request that got `answer` ("" when absent): a retry repeats it. */
  answerScope?: string;
}

export interface IssuedTokens {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  /** Only for grants with offline access (see `Grant.offline`). */
  refresh_token?: string;
  scope: string;
}

/** What a code remembers of the authorization request it answers, for the token endpoint's checks. */
export interface CodeGrantRequest {
  clientId: string;
  redirectUri: string;
  /** Absent on codes from before it was recorded: treated as given (the strict reading). */
  redirectUriGiven?: boolean;
  codeChallenge: string;
  resource?: string;
}

/** A grant as a token request opened it: what a check before issuing (the upstream renewal) needs. */
export interface OpenedGrant {
  grantId: string;
  grant: Grant;
  grantKey: CryptoKey;
  etag: string;
}

/** What an access token says, once its signature and sealed grant key were checked. */
interface VerifiedToken {
  gid: string;
  grantKey: CryptoKey;
  scopes: string[];
  /** Its expiry, seconds since the epoch. */
  exp: number;
}

export interface GrantService {
  create(p: {
    tid: string;
    oid: string;
    name?: string;
    username?: string;
    clientId: string;
    scopes: string[];
    correlationId?: string;
    /** Issue refresh tokens: the user kept "Stay signed in" and the client registered for them. */
    offline: boolean;
    upstream: UpstreamTokens;
    code: { redirectUri: string; redirectUriGiven: boolean; codeChallenge: string; resource?: string };
    client?: GrantClient;
  }): Promise<{ code: string }>;
  /** Spends a code (single use). A second attempt revokes everything the first one issued. */
  redeemCode(code: string, check: (row: CodeGrantRequest) => Promise<void>): Promise<IssuedTokens>;
  /**
   * Rotates a refresh token. `beforeIssue` runs on the opened grant before new tokens are issued (the
   * Entra renewal: a grant Entra ended ends here too); a retry inside the window gets the first answer.
   */
  refresh(
    refreshToken: string,
    clientId: string,
    scopes?: string[],
    beforeIssue?: (g: OpenedGrant) => Promise<void>,
  ): Promise<IssuedTokens>;
  verifyAccessToken(token: string): Promise<OpenedGrant & { scopes: string[]; exp: number }>;
  /** The grant's Entra tokens, decrypted with the key from the caller's token. */
  openUpstream(grantId: string, grant: Grant, grantKey: CryptoKey): Promise<UpstreamTokens>;
  /** Re-seals renewed Entra tokens on the grant (conditional on the version read). */
  saveUpstream(
    grantId: string,
    grant: Grant,
    etag: string,
    grantKey: CryptoKey,
    tokens: UpstreamTokens,
  ): Promise<void>;
  /** Ends a grant: every token issued from it stops working. Returns what it was, if it was live. */
  end(grantId: string): Promise<GrantSummary | undefined>;
  /** A live grant, as listed. */
  get(grantId: string): Promise<GrantSummary | undefined>;
  /** The user's live grants, newest first. */
  listByUser(tid: string, oid: string): Promise<GrantSummary[]>;
  /** The client's live grants (at most `limit`, default 1000), newest first. */
  listByClient(clientId: string, limit?: number): Promise<GrantSummary[]>;
  /** The user who last signed in with this name, while one of their grants lives. */
  userByName(username: string): Promise<{ tid: string; oid: string } | undefined>;
  /** Revokes the grant behind a token issued to `clientId` (RFC 7009 §2.1: only the client's own tokens). */
  revoke(token: string, clientId: string): Promise<void>;
}

async function exportGrantKey(key: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.exportKey("raw", key));
}

async function importGrantKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
}

const enc = new TextEncoder();

/**
 * The grant key as it travels in an access token: AES-256-GCM under the server's token key, bound to
 * the grant id and the token id (`gid.jti`), so it can be neither read from the token nor moved to
 * another one. `v1.<iv>.<ciphertext>`.
 */
export async function sealGrantKey(tokenKey: CryptoKey, grantKey: CryptoKey, aad: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: enc.encode(aad) },
    tokenKey,
    await exportGrantKey(grantKey),
  );
  return `v1.${base64url.encode(iv)}.${base64url.encode(new Uint8Array(ct))}`;
}

export async function openGrantKey(tokenKey: CryptoKey, sealed: string, aad: string): Promise<CryptoKey> {
  const [v, iv, ct] = sealed.split(".");
  if (v !== "v1" || !iv || !ct) throw new errors.JWTClaimValidationFailed('malformed "gk" claim', {});
  let raw: ArrayBuffer;
  try {
    raw = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: base64url.decode(iv) as Uint8Array<ArrayBuffer>,
        additionalData: enc.encode(aad),
      },
      tokenKey,
      base64url.decode(ct) as Uint8Array<ArrayBuffer>,
    );
  } catch {
    throw new errors.JWTClaimValidationFailed('the "gk" claim does not open', {});
  }
  return importGrantKey(new Uint8Array(raw));
}

export function createGrantService(
  config: Pick<Config, "publicUrl" | "resource">,
  deps: { store: Store; keyring: Keyring; now?: () => number },
): GrantService {
  const { store, keyring } = deps;
  const now = deps.now ?? Date.now;
  const nowSec = () => Math.floor(now() / 1000);
  const index = createGrantIndex(store);
  const refOf = (gid: string, g: Grant): GrantRef => ({ gid, tid: g.tid, oid: g.oid, clientId: g.clientId });
  /** Grant rows as last read (`null`: gone), for `GRANT_STATE_CACHE_MS`; every write here forgets its row. */
  const grantRows = new ExpiringCache<Entry<Grant> | null>({ maxEntries: CACHE_ENTRIES, now });
  /** Access tokens whose signature and sealed grant key were checked, until they expire. */
  const verifiedTokens = new ExpiringCache<VerifiedToken>({ maxEntries: CACHE_ENTRIES, now });

  const rowLife = (row: Entry<Grant> | null) => {
    const until = now() + GRANT_STATE_CACHE_MS;
    return row ? Math.min(until, row.expiresAt) : until;
  };

  /** The grant row, read at most once per `GRANT_STATE_CACHE_MS` (concurrent requests share one read). */
  async function currentGrant(gid: string): Promise<Entry<Grant>> {
    const entry = await grantRows.getOrLoad(gid, async () => {
      const row = (await store.get<Grant>("grant", gid)) ?? null;
      return { value: row, expiresAt: rowLife(row) };
    });
    if (!entry) throw new Failure("invalid_grant", "The grant was revoked or has expired; sign in again");
    return entry;
  }

  /**
   * Deletes a grant and its index rows: its refresh tokens stop working at once, its access tokens at once
   * on this instance and within `GRANT_STATE_CACHE_MS` on every other.
   */
  async function endGrant(gid: string): Promise<GrantSummary | undefined> {
    const entry = await store.get<Grant>("grant", gid);
    await store.delete("grant", gid);
    grantRows.delete(gid);
    if (!entry) return undefined;
    await index.remove(refOf(gid, entry.value));
    return summarize(gid, entry);
  }

  /** The live grants behind index rows; rows whose grant is gone are dropped from the index. */
  async function resolve(refs: GrantRef[]): Promise<GrantSummary[]> {
    const found = await Promise.all(
      refs.map(async (ref) => {
        const entry = await store.get<Grant>("grant", ref.gid);
        if (!entry) await index.remove(ref);
        return entry ? summarize(ref.gid, entry) : undefined;
      }),
    );
    return found
      .filter((g): g is GrantSummary => g !== undefined)
      .sort((a, b) => b.createdAt - a.createdAt || a.grantId.localeCompare(b.grantId));
  }

  /** Touches in flight: concurrent requests on one grant share one write. */
  const touching = new Map<string, Promise<string>>();

  /** Records the use of a grant, at most once per `LAST_USED_RESOLUTION_MS`; returns the row's etag. */
  function touch(gid: string, entry: Entry<Grant>): Promise<string> {
    const at = now();
    if (at - (entry.value.lastUsedAt ?? 0) < LAST_USED_RESOLUTION_MS) return Promise.resolve(entry.etag);
    const ttlSec = (entry.expiresAt - at) / 1000;
    if (ttlSec <= 0) return Promise.resolve(entry.etag);
    let pending = touching.get(gid);
    if (!pending) {
      pending = (async () => {
        const value = { ...entry.value, lastUsedAt: at };
        try {
          // Conditional: never brings back a grant revoked meanwhile; another instance's touch is as good.
          const { etag } = await store.put("grant", gid, value, { ttlSec, ifMatch: entry.etag });
          return etag;
        } catch (err) {
          if (!(err instanceof StoreConflictError)) throw err;
          return entry.etag;
        } finally {
          // The row changed: the next request reads it again.
          grantRows.delete(gid);
        }
      })().finally(() => touching.delete(gid));
      touching.set(gid, pending);
    }
    return pending;
  }

  /** Ends the user's oldest grants beyond `MAX_GRANTS_PER_USER - 1`, to make room for one more. */
  async function makeRoom(tid: string, oid: string): Promise<void> {
    const live = await resolve(await index.byUser(tid, oid));
    for (const old of live.slice(MAX_GRANTS_PER_USER - 1)) await endGrant(old.grantId);
  }

  async function signAccessToken(
    gid: string,
    grant: Grant,
    grantKey: CryptoKey,
    scopes: string[],
  ): Promise<string> {
    const keys = await keyring.load(now());
    const { kid, alg, privateKey } = keys.signing.current;
    const jti = randomToken(16);
    return new SignJWT({
      tid: grant.tid,
      oid: grant.oid,
      name: grant.name,
      preferred_username: grant.username,
      client_id: grant.clientId,
      scope: scopes.join(" "),
      gid,
      // The grant key, sealed: lets this server, given this token, open the grant's Entra tokens; the
      // token's holder (and whatever logs bearer tokens) cannot read it.
      gk: await sealGrantKey(keys.tokenKey, grantKey, `${gid}.${jti}`),
    })
      .setProtectedHeader({ alg, kid, typ: "at+jwt" })
      .setIssuer(config.publicUrl)
      .setAudience(config.resource)
      .setSubject(grant.oid)
      .setIssuedAt(nowSec())
      .setExpirationTime(nowSec() + ACCESS_TOKEN_TTL_SEC)
      .setJti(jti)
      .sign(privateKey);
  }

  async function issue(
    gid: string,
    grant: Grant,
    grantKey: CryptoKey,
    scopes: string[],
    refreshTtlSec = REFRESH_TOKEN_TTL_SEC,
  ): Promise<IssuedTokens> {
    const access_token = await signAccessToken(gid, grant, grantKey, scopes);
    const base = {
      access_token,
      token_type: "Bearer" as const,
      expires_in: ACCESS_TOKEN_TTL_SEC,
    };
    // RFC 6749 §1.5: issuing a refresh token is the server's choice; here only for a grant the user
    // approved with "Stay signed in".
    if (grant.offline === false) return { ...base, scope: scopes.join(" ") };
    const refreshToken = randomToken(32);
    const row: RefreshRow = {
      gid,
      wrappedKey: await wrapKey(grantKey, refreshToken),
      clientId: grant.clientId,
      scopes,
    };
    await store.put("refresh", await sha256b64url(refreshToken), row, {
      ttlSec: refreshTtlSec,
      ifAbsent: true,
    });
    return { ...base, refresh_token: refreshToken, scope: scopes.join(" ") };
  }

  /**
   * Checks an access token's signature, claims and sealed grant key, and remembers the result until the
   * token expires (keyed by the token itself: only the very same token finds it). Whether its grant still
   * lives is checked apart, on every request (`currentGrant`).
   */
  async function verifyToken(token: string): Promise<VerifiedToken> {
    let keys = await keyring.load(now());
    // Keys another instance just rotated in are picked up by re-reading the ring (bounded by the keyring).
    const keySet = async (header: { kid?: string }) => {
      if (!keys.signing.all.some((k) => k.kid === header.kid))
        keys = await keyring.load(now(), { refresh: true });
      // The ring holds the imported public keys: no JWK import per request.
      const key = keys.signing.all.find((k) => k.kid === header.kid);
      if (!key) throw new errors.JWKSNoMatchingKey();
      return key.publicKey;
    };
    const { payload } = await jwtVerify(token, keySet, {
      algorithms: ["ES256"],
      issuer: config.publicUrl,
      audience: config.resource,
      typ: "at+jwt",
      currentDate: new Date(now()),
      clockTolerance: 30,
      requiredClaims: ["exp", "gid", "gk", "jti", "oid", "tid"],
    });
    const gid = String(payload.gid);
    const verified: VerifiedToken = {
      gid,
      grantKey: await openGrantKey(keys.tokenKey, String(payload.gk), `${gid}.${payload.jti}`),
      scopes: String(payload.scope ?? "")
        .split(" ")
        .filter(Boolean),
      exp: Number(payload.exp),
    };
    verifiedTokens.set(token, verified, verified.exp * 1000);
    return verified;
  }

  async function loadGrant(gid: string) {
    const g = await store.get<Grant>("grant", gid);
    if (!g) throw new Failure("invalid_grant", "The grant was revoked or has expired; sign in again");
    return g;
  }

  async function upstreamOf(gid: string, grant: Grant, grantKey: CryptoKey) {
    return decryptJson<UpstreamTokens>(grantKey, grant.upstream, gid);
  }

  /** A refresh token never outlives the Entra refresh token behind it (when Entra says how long that lives). */
  async function refreshTtl(gid: string, grant: Grant, grantKey: CryptoKey): Promise<number> {
    const upstream = await upstreamOf(gid, grant, grantKey);
    if (upstream.refreshExpiresAt === undefined) return REFRESH_TOKEN_TTL_SEC;
    const left = Math.floor((upstream.refreshExpiresAt - now()) / 1000);
    if (left <= 0) {
      await endGrant(gid);
      throw new Failure(
        "invalid_grant",
        "The Microsoft Entra sign-in behind this grant has expired; sign in again",
        {
          log: { revokedGrant: true, upstreamExpired: true },
        },
      );
    }
    return Math.min(REFRESH_TOKEN_TTL_SEC, left);
  }

  return {
    async create(p) {
      const gid = randomToken(16);
      const grantKey = await generateGrantKey();
      const grant: Grant = {
        tid: p.tid,
        oid: p.oid,
        name: p.name,
        username: p.username,
        clientId: p.clientId,
        scopes: p.scopes,
        correlationId: p.correlationId,
        offline: p.offline,
        upstream: await encryptJson(grantKey, p.upstream, gid),
        createdAt: now(),
        ...(p.client ? { client: p.client } : {}),
      };
      await makeRoom(p.tid, p.oid);
      await store.put("grant", gid, grant, { ttlSec: GRANT_TTL_SEC, ifAbsent: true });
      await index.add(refOf(gid, grant), GRANT_TTL_SEC, p.username);
      const code = randomToken(32);
      const row: CodeRow = {
        gid,
        wrappedKey: await wrapKey(grantKey, code),
        clientId: p.clientId,
        scopes: p.scopes,
        used: false,
        ...p.code,
      };
      await store.put("code", await sha256b64url(code), row, { ttlSec: CODE_TTL_SEC, ifAbsent: true });
      return { code };
    },

    async redeemCode(code, check) {
      const id = await sha256b64url(code);
      const entry = await store.get<CodeRow>("code", id);
      if (!entry) throw new Failure("invalid_grant", "The authorization code is invalid or has expired");
      await spendCode(store, id, entry, check, endGrant);
      const gid = entry.value.gid;
      const grant = await loadGrant(gid);
      const grantKey = await unwrapKey(entry.value.wrappedKey, code);
      const ttl = await refreshTtl(gid, grant.value, grantKey);
      const tokens = await issue(gid, grant.value, grantKey, entry.value.scopes, ttl);
      // Signing in again with the same client replaces its earlier grant: one grant per user and client.
      const { tid, oid, clientId } = grant.value;
      for (const ref of await index.byUser(tid, oid)) {
        if (ref.clientId === clientId && ref.gid !== gid) await endGrant(ref.gid);
      }
      return tokens;
    },

    async refresh(refreshToken, clientId, scopes, beforeIssue) {
      const id = await sha256b64url(refreshToken);
      const entry = await store.get<RefreshRow>("refresh", id);
      if (!entry) throw new Failure("invalid_grant", "The refresh token is invalid, expired or revoked");
      const row = entry.value;
      if (row.clientId !== clientId)
        throw new Failure("invalid_grant", "The refresh token was issued to another client");
      const grant = await loadGrant(row.gid);
      const requestScope = scopes?.join(" ") ?? "";
      if (row.successor !== undefined) return answerAgain(entry, refreshToken, requestScope, now(), endGrant);
      const granted = narrowedScopes(row, scopes);
      const grantKey = await unwrapKey(row.wrappedKey, refreshToken);
      await beforeIssue?.({ grantId: row.gid, grant: grant.value, grantKey, etag: grant.etag });
      // The renewal may have re-sealed the grant's Entra tokens: issue from what is stored now.
      const current = beforeIssue ? await loadGrant(row.gid) : grant;
      const ttl = await refreshTtl(row.gid, current.value, grantKey);
      const tokens = await issue(row.gid, current.value, grantKey, granted, ttl);
      const recorded = await recordRotation(store, id, entry, refreshToken, tokens, requestScope, now());
      if (recorded) return tokens;
      // Another request rotated this token at the same moment (a retry, another window or instance):
      // withdraw what was just issued and give the winner's answer, so only one chain lives on.
      if (tokens.refresh_token) await store.delete("refresh", await sha256b64url(tokens.refresh_token));
      const winner = await store.get<RefreshRow>("refresh", id);
      if (!winner?.value.successor)
        throw new Failure("invalid_grant", "The refresh token was revoked by a concurrent request");
      return answerAgain(winner, refreshToken, requestScope, now(), endGrant);
    },

    async verifyAccessToken(token) {
      const { gid, grantKey, scopes, exp } = verifiedTokens.get(token) ?? (await verifyToken(token));
      const entry = await currentGrant(gid);
      const etag = await touch(gid, entry);
      return { grantId: gid, grant: entry.value, grantKey, scopes, exp, etag };
    },

    openUpstream: upstreamOf,

    async saveUpstream(gid, grant, etag, grantKey, tokens) {
      const sealed = await encryptJson(grantKey, tokens, gid);
      try {
        await store.put(
          "grant",
          gid,
          { ...grant, upstream: sealed },
          { ttlSec: GRANT_TTL_SEC, ifMatch: etag },
        );
        // The index lives as long as the grant it points to.
        await index.add(refOf(gid, grant), GRANT_TTL_SEC);
      } catch (err) {
        // Another instance renewed it first (or the grant was revoked); its tokens are as good as ours.
        if (!(err instanceof StoreConflictError)) throw err;
      } finally {
        grantRows.delete(gid);
      }
    },

    end: endGrant,

    async get(gid) {
      const entry = await store.get<Grant>("grant", gid);
      return entry ? summarize(gid, entry) : undefined;
    },

    async listByUser(tid, oid) {
      return resolve(await index.byUser(tid, oid));
    },

    async listByClient(clientId, limit) {
      return resolve(await index.byClient(clientId, limit));
    },

    userByName: (username) => index.userByName(username),

    async revoke(token, clientId) {
      // RFC 7009 §2.2: answer the same whether or not the token was valid.
      const refresh = await store.get<RefreshRow>("refresh", await sha256b64url(token));
      if (refresh) {
        // RFC 7009 §2.1: a client may revoke only the tokens issued to it.
        if (refresh.value.clientId !== clientId) return;
        await endGrant(refresh.value.gid);
        await store.delete("refresh", await sha256b64url(token));
        return;
      }
      try {
        const { grantId, grant } = await this.verifyAccessToken(token);
        if (grant.clientId !== clientId) return;
        await endGrant(grantId);
      } catch {
        // not ours, expired, or already revoked: nothing to do
      }
    },
  };
}

/**
 * RFC 6749 §4.1.2: a code is single use. The spend is a conditional write, so two instances redeeming
 * the same code at once cannot both win; a code presented again revokes the grant issued from it.
 * `check` (the token endpoint's client, redirect URI, PKCE and resource checks) runs before the spend.
 */
async function spendCode(
  store: Store,
  id: string,
  entry: Entry<CodeRow>,
  check: (row: CodeRow) => Promise<void>,
  endGrant: (gid: string) => Promise<unknown>,
): Promise<void> {
  const reused = () =>
    new Failure(
      "invalid_grant",
      "The authorization code was already used; the tokens issued from it are revoked",
      {
        log: { revokedGrant: true },
      },
    );
  if (entry.value.used) {
    await endGrant(entry.value.gid);
    throw reused();
  }
  await check(entry.value);
  try {
    await store.put(
      "code",
      id,
      { ...entry.value, used: true },
      { ttlSec: CODE_TTL_SEC, ifMatch: entry.etag },
    );
  } catch (err) {
    if (!(err instanceof StoreConflictError)) throw err;
    await endGrant(entry.value.gid);
    throw reused();
  }
}

/** RFC 6749 §6: a refresh may narrow the scope, never widen it. */
function narrowedScopes(row: RefreshRow, requested: string[] | undefined): string[] {
  const granted = requested ?? row.scopes;
  const extra = granted.filter((s) => !row.scopes.includes(s));
  if (extra.length)
    throw new Failure("invalid_scope", `The refresh token does not cover: ${extra.join(" ")}`);
  return granted;
}

/**
 * A rotated refresh token presented again. Within `REFRESH_RETRY_WINDOW_SEC` of its rotation, with the
 * same `scope` parameter, it gets the answer it got the first time, byte for byte: the client lost that
 * answer, retried, or raced itself (FastMCP's and Exceptionless's fix for the same logouts). After the
 * window it is a replay: someone else may hold a copy, so the whole grant is revoked (RFC 9700 §4.14.2).
 */
async function answerAgain(
  entry: Entry<RefreshRow>,
  refreshToken: string,
  requestScope: string,
  at: number,
  endGrant: (gid: string) => Promise<GrantSummary | undefined>,
): Promise<IssuedTokens> {
  const row = entry.value;
  const rotatedAt = row.rotatedAt ?? 0;
  if (at - rotatedAt >= REFRESH_RETRY_WINDOW_SEC * 1000 || !row.answer) {
    // Ended through the index too; what it returns says which sign-in the revoked grant came from.
    const grant = await endGrant(row.gid);
    telemetry.refreshReplay();
    throw new Failure("invalid_grant", "The refresh token was already used; the grant is revoked", {
      log: { revokedGrant: true, refreshReplay: true, correlationId: grant?.correlationId },
    });
  }
  if ((row.answerScope ?? "") !== requestScope) {
    // Not a retry of the same request; not proof of theft either, inside the window.
    throw new Failure("invalid_grant", "The refresh token was just used with another scope");
  }
  return openForToken<IssuedTokens>(refreshToken, row.answer, row.gid);
}

/**
 * Links the presented token to its successor, and keeps the answer for a retry, in one conditional
 * write (OAuth 2.1 §4.3.1): of two requests rotating the same token at once (two instances on one
 * store), one wins. Returns `false` to the loser. The row is kept for its whole life, so that a late
 * reuse is recognised and revokes the grant.
 */
async function recordRotation(
  store: Store,
  id: string,
  entry: Entry<RefreshRow>,
  refreshToken: string,
  tokens: IssuedTokens,
  requestScope: string,
  at: number,
): Promise<boolean> {
  const successor = tokens.refresh_token ? await sha256b64url(tokens.refresh_token) : "none";
  const answer = await sealForToken(refreshToken, tokens, entry.value.gid);
  try {
    await store.put(
      "refresh",
      id,
      { ...entry.value, successor, rotatedAt: at, answer, answerScope: requestScope },
      // The row keeps its own end of life, but lives through the retry window at least.
      { ttlSec: Math.max(REFRESH_RETRY_WINDOW_SEC, (entry.expiresAt - at) / 1000), ifMatch: entry.etag },
    );
    return true;
  } catch (err) {
    if (!(err instanceof StoreConflictError)) throw err;
    return false;
  }
}

function summarize(gid: string, entry: Entry<Grant>): GrantSummary {
  const g = entry.value;
  return {
    grantId: gid,
    tid: g.tid,
    oid: g.oid,
    name: g.name,
    username: g.username,
    clientId: g.clientId,
    client: g.client,
    scopes: g.scopes,
    offline: g.offline !== false,
    createdAt: g.createdAt,
    lastUsedAt: g.lastUsedAt,
    expiresAt: entry.expiresAt,
    ...(g.correlationId ? { correlationId: g.correlationId } : {}),
  };
}
