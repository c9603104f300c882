/**
 * Hashing, random tokens and envelope encryption for what the proxy keeps in its store.
 *
 * Codes and tokens are stored only as `sha256b64url` hashes, so a table dump yields no usable
 * credential. Upstream Entra tokens are encrypted so that the dump doesn't reveal them either, with the
 * pattern of Cloudflare's workers-oauth-provider: a random *grant key* (AES-256-GCM) encrypts the
 * upstream tokens once, and every token the proxy issues stores that grant key *wrapped* under a key
 * derived (HKDF-SHA256) from the token's own secret. The secret lives only with the client, so only a
 * request that presents a valid token can unwrap the grant key and read the upstream tokens.
 *
 * WebCrypto only (`crypto.subtle`), so this runs on Node and Azure Functions alike.
 *
 * @module
 */
import { base64url } from "../../core/encoding.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// Format tag of sealed strings, so a future scheme can be told apart (and an unknown one refused).
const VERSION = "v1";
const WRAP_INFO = enc.encode("entra-mcp-server grant-key wrap v1");
const ANSWER_INFO = enc.encode("entra-mcp-server refresh answer v1");

/** A fresh AES-256-GCM grant key. Extractable, because it is stored wrapped. */
export function generateGrantKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
}

/**
 * Encrypts a JSON value with an AES-GCM key: `v1.<iv>.<ciphertext>`. `aad` (e.g. the grant id) binds
 * the ciphertext to its row, so it can't be moved to another one.
 */
export async function encryptJson(key: CryptoKey, value: unknown, aad = ""): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: enc.encode(aad) },
    key,
    enc.encode(JSON.stringify(value)),
  );
  return `${VERSION}.${base64url.encode(iv)}.${base64url.encode(new Uint8Array(ct))}`;
}

/** Reverses `encryptJson`. Throws `DecryptError` on a wrong key, a wrong `aad` or any tampering. */
export async function decryptJson<T>(key: CryptoKey, sealed: string, aad = ""): Promise<T> {
  const [iv, ct] = parse(sealed);
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: enc.encode(aad) }, key, ct);
  } catch (err) {
    throw new DecryptError("decryption failed (wrong key or tampered data)", { cause: err });
  }
  return JSON.parse(dec.decode(plain)) as T;
}

/** Wraps `grantKey` under a key derived from `tokenSecret`: what a token's row stores. */
export async function wrapKey(grantKey: CryptoKey, tokenSecret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const wrapped = await crypto.subtle.wrapKey("raw", grantKey, await deriveKey(tokenSecret, WRAP_INFO), {
    name: "AES-GCM",
    iv,
  });
  return `${VERSION}.${base64url.encode(iv)}.${base64url.encode(new Uint8Array(wrapped))}`;
}

/** Recovers the grant key from a token's row with the token's secret. Throws `DecryptError` otherwise. */
export async function unwrapKey(wrapped: string, tokenSecret: string): Promise<CryptoKey> {
  const [iv, ct] = parse(wrapped);
  try {
    return await crypto.subtle.unwrapKey(
      "raw",
      ct,
      await deriveKey(tokenSecret, WRAP_INFO),
      { name: "AES-GCM", iv },
      { name: "AES-GCM", length: 256 },
      // Extractable so that a refresh can wrap the same grant key under the next token.
      true,
      ["encrypt", "decrypt"],
    );
  } catch (err) {
    throw new DecryptError("unwrapping failed (wrong token or tampered data)", { cause: err });
  }
}

/**
 * Seals a value under a key derived from a token's secret (its own HKDF label): how a rotated refresh
 * token keeps the answer it was given, readable only by a later request that presents the same token.
 */
export async function sealForToken(tokenSecret: string, value: unknown, aad = ""): Promise<string> {
  return encryptJson(await deriveKey(tokenSecret, ANSWER_INFO), value, aad);
}

/** Reverses `sealForToken`. Throws `DecryptError` with another token or tampered data. */
export async function openForToken<T>(tokenSecret: string, sealed: string, aad = ""): Promise<T> {
  return decryptJson<T>(await deriveKey(tokenSecret, ANSWER_INFO), sealed, aad);
}

export class DecryptError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DecryptError";
  }
}

/**
 * An AES-256-GCM key from a token secret. The secrets are 256-bit random values, so HKDF needs no
 * salt for strength; the `info` label binds the key to its one use (wrapping grant keys).
 */
async function deriveKey(tokenSecret: string, info: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", enc.encode(tokenSecret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
  );
}

function parse(sealed: string): [Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>] {
  const parts = sealed.split(".");
  if (parts.length !== 3 || parts[0] !== VERSION)
    throw new DecryptError("not a sealed value of a known version");
  try {
    return [
      base64url.decode(parts[1]) as Uint8Array<ArrayBuffer>,
      base64url.decode(parts[2]) as Uint8Array<ArrayBuffer>,
    ];
  } catch (err) {
    throw new DecryptError("malformed sealed value", { cause: err });
  }
}
