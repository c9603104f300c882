/**
 * Base64 and base64url, random tokens and hashes: the encodings every part of the server shares. WebCrypto and
 * jose only, so this runs on Node and Azure Functions alike.
 *
 * @module
 */
import { base64url } from "jose";

export { base64url };

const enc = new TextEncoder();

/** Standard base64 (RFC 4648 §4) of bytes, for MCP image content and header values. */
export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Reverses `base64`. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Base64url SHA-256 of `text`: the row id under which a code or token is stored. */
export async function sha256b64url(text: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text))));
}

/** `bytes` random bytes as base64url (32 bytes, 256 bits, by default). */
export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * Whether two secrets are equal, in time that does not depend on where they differ: both sides are
 * hashed first, so the comparison runs over two fixed-length digests. An empty secret never matches.
 */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256b64url(a), sha256b64url(b)]);
  let diff = ha.length ^ hb.length;
  for (let i = 0; i < ha.length && i < hb.length; i++) diff |= ha.charCodeAt(i) ^ hb.charCodeAt(i);
  return diff === 0 && a.length > 0;
}
