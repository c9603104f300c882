/**
 * Base64url, random tokens and hashes: the encodings every part of the server shares. WebCrypto and
 * jose only, so this runs on Node and Azure Functions alike.
 *
 * @module
 */
import { base64url } from "jose";

export { base64url };

const enc = new TextEncoder();

/** Base64url SHA-256 of `text`: the row id under which a code or token is stored. */
export async function sha256b64url(text: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text))));
}

/** `bytes` random bytes as base64url (32 bytes, 256 bits, by default). */
export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}
