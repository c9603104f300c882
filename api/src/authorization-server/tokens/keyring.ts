/**
 * The server's own key material, generated at run time and kept in the store, never in settings.
 *
 * One row (`key/keyring`) holds: the ES256 signing keys for the access tokens the proxy issues (their
 * public halves are the server's JWKS) and an HMAC-SHA256 key for cookies and CSRF tokens. The store sits behind managed-identity RBAC; the secret that matters most, the
 * upstream Entra tokens, is additionally wrapped per client token (see `crypto.ts`).
 *
 * Several instances share the row, so every change is a conditional write and the loser re-reads:
 * two processes starting together both try to create the ring with `ifAbsent` and converge on the
 * winner's keys; two processes rotating together both try `ifMatch` and one rotation happens.
 *
 * Rotation: when the newest signing key is `rotateAfterDays` old, a successor is added that becomes
 * the signing key only `activationDelaySec` later (twice the cache life by default). In between it is
 * already published, so every instance, whose cache is at most `cacheTtlSec` old, knows the new key
 * before any token signed with it arrives. A superseded key stays published until the tokens it
 * signed have expired (`maxTokenLifetimeSec` plus skew), then it is dropped.
 *
 * @module
 */
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { randomToken } from "../../core/encoding.ts";
import { type Store, StoreConflictError } from "../../store/store.ts";

export const SIGNING_ALG = "ES256";

export interface KeyOptions {
  /** Age at which the signing key is succeeded (default 30 days). */
  rotateAfterDays?: number;
  /** Longest life of a token the server signs; a superseded key stays published this long (default 1 h). */
  maxTokenLifetimeSec?: number;
  /** How long one instance reuses the ring it read before reading again (default 5 min). */
  cacheTtlSec?: number;
  /** Delay between publishing a new signing key and signing with it (default twice `cacheTtlSec`). */
  activationDelaySec?: number;
}

export interface VerificationKey {
  kid: string;
  alg: typeof SIGNING_ALG;
  publicKey: CryptoKey;
  /** The public JWK with `kid`, `alg` and `use`, as published at `/.well-known/jwks.json`. */
  publicJwk: JWK;
}

export interface SigningKey extends VerificationKey {
  privateKey: CryptoKey;
}

export interface Keys {
  signing: {
    /** The key new tokens are signed with. */
    current: SigningKey;
    /** Every published key: the current one, a successor not yet in use, a predecessor still valid. */
    all: VerificationKey[];
    /** `{ keys: [...] }`: the JWKS document. */
    jwks: { keys: JWK[] };
  };
  /** HMAC-SHA256 (`sign`, `verify`): cookie MACs, CSRF tokens. */
  hmac: CryptoKey;
  /**
   * AES-256-GCM, derived from the same secret with HKDF under its own label: seals the grant key inside
   * the access tokens the server issues, so a token's holder cannot read it.
   */
  tokenKey: CryptoKey;
}

/** The stored row. Private material in it is protected by the store's access control. */
interface KeyringDoc {
  v: 1;
  signing: StoredSigningKey[];
  /** 32 random bytes, base64url. */
  hmac: string;
}

interface StoredSigningKey {
  kid: string;
  createdAt: number;
  /** From when it signs (until a successor's `activeFrom`). */
  activeFrom: number;
  privateJwk: JWK;
}

const KIND = "key";
const ID = "keyring";
const DAY_MS = 86_400_000;
// Clock difference tolerated between instances and in token validation.
const SKEW_MS = 5 * 60_000;
// A caller that meets an unknown `kid` may force a re-read, but not more often than this.
const MIN_REFRESH_MS = 10_000;

export interface Keyring {
  /** The keys at `now`, from the cache while it is fresh. `refresh` re-reads (at most every 10 s). */
  load(now?: number, opts?: { refresh?: boolean }): Promise<Keys>;
}

/** One process's view of the ring in `store`, with its own cache. */
export function createKeyring(store: Store, options: KeyOptions = {}): Keyring {
  const rotateAfterMs = (options.rotateAfterDays ?? 30) * DAY_MS;
  const retainMs = (options.maxTokenLifetimeSec ?? 3600) * 1000 + SKEW_MS;
  const cacheTtlMs = (options.cacheTtlSec ?? 300) * 1000;
  const activationDelayMs = (options.activationDelaySec ?? (2 * cacheTtlMs) / 1000) * 1000;
  let cached: { loadedAt: number; validUntil: number; keys: Promise<Keys> } | undefined;

  async function readOrUpdate(now: number): Promise<{ doc: KeyringDoc; validUntil: number }> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await store.get<KeyringDoc>(KIND, ID);
      try {
        if (!entry) {
          // First start: the first key signs at once, nobody can hold an older cache.
          const doc: KeyringDoc = {
            v: 1,
            signing: [await newSigningKey(now, now)],
            hmac: randomToken(32),
          };
          await store.put(KIND, ID, doc, { ttlSec: Number.POSITIVE_INFINITY, ifAbsent: true });
          return { doc, validUntil: now + cacheTtlMs };
        }
        const doc = entry.value;
        const next = await maintain(doc, now);
        if (next) await store.put(KIND, ID, next, { ttlSec: Number.POSITIVE_INFINITY, ifMatch: entry.etag });
        const ring = next ?? doc;
        // Re-read no later than a pending successor's activation, so `current` switches on time.
        const pending = ring.signing.filter((k) => k.activeFrom > now).map((k) => k.activeFrom);
        return { doc: ring, validUntil: Math.min(now + cacheTtlMs, ...pending) };
      } catch (err) {
        // Another instance created or rotated the ring first: take theirs.
        if (!(err instanceof StoreConflictError)) throw err;
      }
    }
    throw new Error("Could not read or update the keyring after 10 contended attempts");
  }

  /** The ring after rotation and pruning at `now`, or `undefined` if nothing changes. */
  async function maintain(doc: KeyringDoc, now: number): Promise<KeyringDoc | undefined> {
    // A key can go once a successor has been signing for longer than any token it signed lives (so
    // the key in use is never dropped: nothing newer has been signing yet).
    const kept = doc.signing.filter(
      (k) => !doc.signing.some((s) => s.activeFrom > k.activeFrom && s.activeFrom + retainMs <= now),
    );
    const newest = kept.reduce((a, b) => (b.createdAt > a.createdAt ? b : a));
    const rotate = newest.createdAt + rotateAfterMs <= now;
    if (!rotate && kept.length === doc.signing.length) return undefined;
    if (rotate) kept.push(await newSigningKey(now, now + activationDelayMs));
    return { ...doc, signing: kept };
  }

  async function build(doc: KeyringDoc, now: number): Promise<Keys> {
    const all = await Promise.all(doc.signing.map(importSigningKey));
    const currentKid = currentOf(doc.signing, now).kid;
    return {
      signing: {
        current: all.find((k) => k.kid === currentKid)!,
        all: all.map(({ privateKey: _, ...pub }) => pub),
        jwks: { keys: all.map((k) => k.publicJwk) },
      },
      hmac: await crypto.subtle.importKey(
        "raw",
        base64url.decode(doc.hmac) as Uint8Array<ArrayBuffer>,
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign", "verify"],
      ),
      tokenKey: await deriveTokenKey(doc.hmac),
    };
  }

  return {
    load(now = Date.now(), opts = {}) {
      if (cached) {
        const fresh = now >= cached.loadedAt && now < cached.validUntil;
        const forced = opts.refresh && now - cached.loadedAt >= MIN_REFRESH_MS;
        if (fresh && !forced) return cached.keys;
      }
      const entry: { loadedAt: number; validUntil: number; keys: Promise<Keys> } = {
        loadedAt: now,
        validUntil: now + cacheTtlMs,
        keys: readOrUpdate(now).then(({ doc, validUntil }) => {
          entry.validUntil = validUntil;
          return build(doc, now);
        }),
      };
      // A failed read is not cached: the next call tries again.
      entry.keys.catch(() => {
        if (cached === entry) cached = undefined;
      });
      cached = entry;
      return entry.keys;
    },
  };
}

const TOKEN_KEY_INFO = new TextEncoder().encode("entra-mcp-server access-token grant-key seal v1");

/** The access-token sealing key: HKDF-SHA256 over the ring's secret, bound to this one use by its label. */
async function deriveTokenKey(secret: string): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey(
    "raw",
    base64url.decode(secret) as Uint8Array<ArrayBuffer>,
    "HKDF",
    false,
    ["deriveKey"],
  );
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: TOKEN_KEY_INFO },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** The signing key at `now`: the most recently activated one. */
function currentOf(keys: StoredSigningKey[], now: number): StoredSigningKey {
  const active = keys.filter((k) => k.activeFrom <= now);
  // Only a clock that runs backwards leaves none active: then the oldest key is the safe choice.
  if (!active.length) return keys.reduce((a, b) => (b.activeFrom < a.activeFrom ? b : a));
  return active.reduce((a, b) => (b.activeFrom > a.activeFrom ? b : a));
}

async function newSigningKey(createdAt: number, activeFrom: number): Promise<StoredSigningKey> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicPart(privateJwk));
  return { kid, createdAt, activeFrom, privateJwk };
}

async function importSigningKey(k: StoredSigningKey): Promise<SigningKey> {
  const publicJwk: JWK = { ...publicPart(k.privateJwk), kid: k.kid, alg: SIGNING_ALG, use: "sig" };
  return {
    kid: k.kid,
    alg: SIGNING_ALG,
    privateKey: (await importJWK(k.privateJwk, SIGNING_ALG)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, SIGNING_ALG)) as CryptoKey,
    publicJwk,
  };
}

function publicPart(jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}
