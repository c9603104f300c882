/**
 * Grants, authorization codes and the tokens this authorization server issues, on the shared `Store`.
 *
 * Storage (see the README's storage layout):
 * - `grant/<id>`: who (tid, oid, name), which client, which scopes, and the user's Entra tokens sealed
 *   with a random per-grant key. The key is not stored: it rides inside the tokens the client holds
 *   (wrapped under each code or refresh token, and inside the signed access token), so a dump of the
 *   table alone does not reveal any Entra token (workers-oauth-provider's design).
 * - `code/<sha256(code)>`: single use, ten minutes; spending it twice revokes the grant (RFC 6749 §4.1.2).
 * - `refresh/<sha256(token)>`: rotated on every use (OAuth 2.1 §4.3.1 for public clients). The previous
 *   token stays good only for an immediate retry while its successor is unused; any other reuse
 *   revokes the grant.
 *
 * Codes and tokens are stored only as hashes.
 *
 * @module
 */
import { base64url, errors, jwtVerify, SignJWT } from "jose";
import type { Config } from "../../config/config.ts";
import { randomToken, sha256b64url } from "../../core/encoding.ts";
import { Failure } from "../../core/failure.ts";
import { telemetry } from "../../core/telemetry.ts";
import type { UpstreamTokens } from "../../entra/upstream.ts";
import { type Entry, type Store, StoreConflictError } from "../../store/store.ts";
import { decryptJson, encryptJson, generateGrantKey, unwrapKey, wrapKey } from "./crypto.ts";
import type { Keyring } from "./keyring.ts";

export const ACCESS_TOKEN_TTL_SEC = 60 * 60;
export const REFRESH_TOKEN_TTL_SEC = 30 * 24 * 60 * 60;
export const GRANT_TTL_SEC = 90 * 24 * 60 * 60;
export const CODE_TTL_SEC = 10 * 60;
/** How long a rotated refresh token may be replayed for a lost response, while its successor is unused. */
export const REFRESH_RETRY_GRACE_SEC = 60;

export interface Grant {
  tid: string;
  oid: string;
  name?: string;
  username?: string;
  clientId: string;
  scopes: string[];
  /** Entra tokens (`UpstreamTokens`), AES-GCM sealed with the grant key. */
  upstream: string;
  createdAt: number;
  /** The sign-in this grant came from (see `PendingAuthorization.correlationId`), for the logs. */
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
  successor?: string;
  rotatedAt?: number;
  /** Replaced by the answer to a retry of its predecessor: presenting it is a replay. */
  superseded?: boolean;
}

export interface IssuedTokens {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
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

export interface GrantService {
  create(p: {
    tid: string;
    oid: string;
    name?: string;
    username?: string;
    clientId: string;
    scopes: string[];
    correlationId?: string;
    upstream: UpstreamTokens;
    code: { redirectUri: string; redirectUriGiven: boolean; codeChallenge: string; resource?: string };
  }): Promise<{ code: string }>;
  /** Spends a code (single use). A second attempt revokes everything the first one issued. */
  redeemCode(code: string, check: (row: CodeGrantRequest) => Promise<void>): Promise<IssuedTokens>;
  refresh(refreshToken: string, clientId: string, scopes?: string[]): Promise<IssuedTokens>;
  verifyAccessToken(token: string): Promise<{
    grantId: string;
    grant: Grant;
    grantKey: CryptoKey;
    scopes: string[];
    exp: number;
    etag: string;
  }>;
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
  /** Revokes the grant behind a token issued to `clientId` (RFC 7009 §2.1: only the client's own tokens). */
  revoke(token: string, clientId?: string): Promise<void>;
}

async function exportGrantKey(key: CryptoKey): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.exportKey("raw", key)));
}

async function importGrantKey(raw: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    new Uint8Array(base64url.decode(raw)),
    { name: "AES-GCM", length: 256 },
    true,
    ["encrypt", "decrypt"],
  );
}

export function createGrantService(
  config: Pick<Config, "publicUrl" | "resource">,
  deps: { store: Store; keyring: Keyring; now?: () => number },
): GrantService {
  const { store, keyring } = deps;
  const now = deps.now ?? Date.now;
  const nowSec = () => Math.floor(now() / 1000);

  async function signAccessToken(
    gid: string,
    grant: Grant,
    grantKey: CryptoKey,
    scopes: string[],
  ): Promise<string> {
    const { kid, alg, privateKey } = (await keyring.load(now())).signing.current;
    return new SignJWT({
      tid: grant.tid,
      oid: grant.oid,
      name: grant.name,
      preferred_username: grant.username,
      client_id: grant.clientId,
      scope: scopes.join(" "),
      gid,
      // The grant key: lets this token, and only a holder of it, open the grant's sealed Entra tokens.
      gk: await exportGrantKey(grantKey),
    })
      .setProtectedHeader({ alg, kid, typ: "at+jwt" })
      .setIssuer(config.publicUrl)
      .setAudience(config.resource)
      .setSubject(grant.oid)
      .setIssuedAt(nowSec())
      .setExpirationTime(nowSec() + ACCESS_TOKEN_TTL_SEC)
      .setJti(randomToken(16))
      .sign(privateKey);
  }

  async function issue(
    gid: string,
    grant: Grant,
    grantKey: CryptoKey,
    scopes: string[],
  ): Promise<IssuedTokens> {
    const refreshToken = randomToken(32);
    const row: RefreshRow = {
      gid,
      wrappedKey: await wrapKey(grantKey, refreshToken),
      clientId: grant.clientId,
      scopes,
    };
    await store.put("refresh", await sha256b64url(refreshToken), row, {
      ttlSec: REFRESH_TOKEN_TTL_SEC,
      ifAbsent: true,
    });
    return {
      access_token: await signAccessToken(gid, grant, grantKey, scopes),
      token_type: "Bearer",
      expires_in: ACCESS_TOKEN_TTL_SEC,
      refresh_token: refreshToken,
      scope: scopes.join(" "),
    };
  }

  async function loadGrant(gid: string) {
    const g = await store.get<Grant>("grant", gid);
    if (!g) throw new Failure("invalid_grant", "The grant was revoked or has expired; sign in again");
    return g;
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
        upstream: await encryptJson(grantKey, p.upstream, gid),
        createdAt: now(),
      };
      await store.put("grant", gid, grant, { ttlSec: GRANT_TTL_SEC, ifAbsent: true });
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
      await spendCode(store, id, entry, check);
      const grant = await loadGrant(entry.value.gid);
      const grantKey = await unwrapKey(entry.value.wrappedKey, code);
      return issue(entry.value.gid, grant.value, grantKey, entry.value.scopes);
    },

    async refresh(refreshToken, clientId, scopes) {
      const id = await sha256b64url(refreshToken);
      const entry = await store.get<RefreshRow>("refresh", id);
      if (!entry) throw new Failure("invalid_grant", "The refresh token is invalid, expired or revoked");
      const row = entry.value;
      if (row.clientId !== clientId)
        throw new Failure("invalid_grant", "The refresh token was issued to another client");
      const grant = await loadGrant(row.gid);
      const granted = narrowedScopes(row, scopes);
      const presented = await presentation(store, row, now());
      if (presented.kind === "replay") {
        // Someone else may hold a copy of this token: revoke the whole grant.
        await store.delete("grant", row.gid);
        telemetry.refreshReplay();
        throw new Failure("invalid_grant", "The refresh token was already used; the grant is revoked", {
          log: { revokedGrant: true, refreshReplay: true, correlationId: grant.value.correlationId },
        });
      }
      const grantKey = await unwrapKey(row.wrappedKey, refreshToken);
      const tokens = await issue(row.gid, grant.value, grantKey, granted);
      const successor = await sha256b64url(tokens.refresh_token);
      if (presented.kind === "retry") await supersede(store, presented.successorId, presented.successor);
      await recordRotation(store, id, entry, successor, now());
      return tokens;
    },

    async verifyAccessToken(token) {
      // Keys another instance just rotated in are picked up by re-reading the ring (bounded by the keyring).
      const keySet = async (header: { kid?: string }) => {
        let keys = await keyring.load(now());
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
        requiredClaims: ["exp", "gid", "gk", "oid", "tid"],
      });
      const gid = String(payload.gid);
      const entry = await loadGrant(gid);
      return {
        grantId: gid,
        grant: entry.value,
        grantKey: await importGrantKey(String(payload.gk)),
        scopes: String(payload.scope ?? "")
          .split(" ")
          .filter(Boolean),
        exp: Number(payload.exp),
        etag: entry.etag,
      };
    },

    async openUpstream(gid, grant, grantKey) {
      return decryptJson<UpstreamTokens>(grantKey, grant.upstream, gid);
    },

    async saveUpstream(gid, grant, etag, grantKey, tokens) {
      const sealed = await encryptJson(grantKey, tokens, gid);
      try {
        await store.put(
          "grant",
          gid,
          { ...grant, upstream: sealed },
          { ttlSec: GRANT_TTL_SEC, ifMatch: etag },
        );
      } catch (err) {
        // Another instance renewed it first; its tokens are as good as ours.
        if (!(err instanceof StoreConflictError)) throw err;
      }
    },

    async revoke(token, clientId) {
      // RFC 7009 §2.2: answer the same whether or not the token was valid.
      const refresh = await store.get<RefreshRow>("refresh", await sha256b64url(token));
      if (refresh) {
        if (clientId && refresh.value.clientId !== clientId) return;
        await store.delete("grant", refresh.value.gid);
        await store.delete("refresh", await sha256b64url(token));
        return;
      }
      try {
        const { grantId, grant } = await this.verifyAccessToken(token);
        if (clientId && grant.clientId !== clientId) return;
        await store.delete("grant", grantId);
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
    await store.delete("grant", entry.value.gid);
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
    await store.delete("grant", entry.value.gid);
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
 * What presenting this refresh token is (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: rotation with reuse
 * detection): `fresh`, never used; `retry`, used moments ago and its successor unused (the client lost
 * the answer: it gets a new one, which replaces that successor); otherwise `replay`.
 */
async function presentation(
  store: Store,
  row: RefreshRow,
  at: number,
): Promise<
  | { kind: "fresh" }
  | { kind: "retry"; successorId: string; successor: Entry<RefreshRow> }
  | { kind: "replay" }
> {
  // The client went on with the retry's answer; whoever presents this one holds a copy.
  if (row.superseded) return { kind: "replay" };
  if (!row.successor) return { kind: "fresh" };
  const next = await store.get<RefreshRow>("refresh", row.successor);
  const withinGrace = row.rotatedAt !== undefined && at - row.rotatedAt < REFRESH_RETRY_GRACE_SEC * 1000;
  // The successor was used (it has a successor of its own), revoked, or replaced: not a retry.
  if (!next || next.value.successor !== undefined || next.value.superseded || !withinGrace)
    return { kind: "replay" };
  return { kind: "retry", successorId: row.successor, successor: next };
}

/**
 * A retry's answer replaces the successor issued before, so only one chain lives on. The replaced token,
 * if it ever shows up, is a replay (RFC 9700 §4.14.2).
 */
async function supersede(store: Store, id: string, successor: Entry<RefreshRow>): Promise<void> {
  await store
    .put(
      "refresh",
      id,
      { ...successor.value, superseded: true },
      {
        ttlSec: REFRESH_TOKEN_TTL_SEC,
        ifMatch: successor.etag,
      },
    )
    .catch((err) => {
      if (!(err instanceof StoreConflictError)) throw err;
    });
}

/**
 * Links the presented token to its successor with a conditional write (OAuth 2.1 §4.3.1). The row is
 * kept for its whole life, so that a late reuse is recognised and revokes the grant. If another refresh
 * with the same token won the rotation at the same moment (another instance, a client retry), answering
 * too would start a second live chain: the successor just issued is withdrawn instead.
 */
async function recordRotation(
  store: Store,
  id: string,
  entry: Entry<RefreshRow>,
  successor: string,
  at: number,
): Promise<void> {
  try {
    await store.put(
      "refresh",
      id,
      { ...entry.value, successor, rotatedAt: entry.value.rotatedAt ?? at },
      { ttlSec: REFRESH_TOKEN_TTL_SEC, ifMatch: entry.etag },
    );
  } catch (err) {
    if (!(err instanceof StoreConflictError)) throw err;
    await store.delete("refresh", successor);
    throw new Failure(
      "invalid_grant",
      "The refresh token was used by a concurrent request; use that request's tokens",
    );
  }
}
