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
