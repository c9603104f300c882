// Token signing keys: RSA-2048, each with a self-issued certificate (like Entra's
// CN=accounts.accesscontrol.windows.net keys); kid = x5t = base64url SHA-1 of the DER certificate.
import { createHash, randomBytes, webcrypto } from "node:crypto";
import "./reflect-shim.ts";
import * as x509 from "@peculiar/x509";

const subtle = webcrypto.subtle;
const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

export interface SigningKey {
  kid: string;
  x5t: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public JWK as published in the JWKS (kty, use, kid, x5t, n, e, x5c, issuer). */
  jwk: Record<string, unknown>;
  /** SubjectPublicKeyInfo PEM (handy for "HS256 signed with the public key" forgeries). */
  publicKeyPem: string;
  certPem: string;
  createdAt: number;
}

export const b64url = (data: Uint8Array | string): string => Buffer.from(data).toString("base64url");
export const randomId = (bytes = 16): string => b64url(randomBytes(bytes));

export async function createSigningKey(now: number): Promise<SigningKey> {
  const keys = (await subtle.generateKey(
    { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: `01${randomBytes(8).toString("hex")}`,
      name: "CN=accounts.accesscontrol.windows.net",
      notBefore: new Date(now - 86400_000),
      notAfter: new Date(now + 5 * 365 * 86400_000),
      signingAlgorithm: RSA,
      keys,
    },
    webcrypto as unknown as Crypto,
  );
  const der = new Uint8Array(cert.rawData);
  const x5t = createHash("sha1").update(der).digest("base64url");
  const pub = (await subtle.exportKey("jwk", keys.publicKey)) as JsonWebKey;
  const spki = Buffer.from(await subtle.exportKey("spki", keys.publicKey)).toString("base64");
  return {
    kid: x5t,
    x5t,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    jwk: {
      kty: "RSA",
      use: "sig",
      kid: x5t,
      x5t,
      n: pub.n,
      e: pub.e,
      x5c: [Buffer.from(der).toString("base64")],
    },
    publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n`,
    certPem: cert.toString("pem"),
    createdAt: now,
  };
}

export interface SignOptions {
  /** Header `kid` (default: the key's kid). */
  kid?: string;
  /** "RS256" (default), "HS256" (HMAC with `key` bytes, default the public key PEM) or "none". */
  alg?: "RS256" | "HS256" | "none";
  /** RS256: a private CryptoKey; HS256: secret bytes or string. */
  key?: CryptoKey | Uint8Array | string;
  /** Extra header members, added after typ/alg/kid. */
  header?: Record<string, unknown>;
}

export async function signJwt(
  payload: Record<string, unknown>,
  signer: SigningKey,
  opts: SignOptions = {},
): Promise<string> {
  const alg = opts.alg ?? "RS256";
  const header: Record<string, unknown> = { typ: "JWT", alg };
  if (alg !== "none") header.kid = opts.kid ?? signer.kid;
  Object.assign(header, opts.header);
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  if (alg === "none") return `${input}.`;
  if (alg === "HS256") {
    const secret =
      opts.key === undefined || opts.key instanceof CryptoKey
        ? signer.publicKeyPem
        : (opts.key as Uint8Array | string);
    const raw = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
    const hk = await subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return `${input}.${b64url(new Uint8Array(await subtle.sign("HMAC", hk, new TextEncoder().encode(input))))}`;
  }
  const key = opts.key instanceof CryptoKey ? opts.key : signer.privateKey;
  const sig = await subtle.sign(RSA, key, new TextEncoder().encode(input));
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

/**
 * Graph-style token: the header carries a `nonce`, and the signature is computed over the header
 * with the SHA-256 of that nonce, so the token as delivered does not verify for third parties
 * (like real Graph tokens). Only Graph (this emulator) reverses it.
 */
export async function signGraphJwt(payload: Record<string, unknown>, signer: SigningKey): Promise<string> {
  const nonce = randomId(32);
  const hashed = createHash("sha256").update(nonce).digest("hex");
  const header = { typ: "JWT", nonce: hashed, alg: "RS256", x5t: signer.x5t, kid: signer.kid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const sig = await subtle.sign(RSA, signer.privateKey, new TextEncoder().encode(input));
  const delivered = { ...header, nonce };
  return `${b64url(JSON.stringify(delivered))}.${b64url(JSON.stringify(payload))}.${b64url(new Uint8Array(sig))}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  input: string;
  signature: Uint8Array;
}

/** Parses a compact JWS; returns null if it is not three base64url JSON parts. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (!header || typeof header !== "object" || !payload || typeof payload !== "object") return null;
    return {
      header,
      payload,
      input: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2], "base64url"),
    };
  } catch {
    return null;
  }
}

export type VerifyFailure = "alg" | "kid" | "signature";

/** Verifies an RS256 signature against the published keys. `graphNonce` reverses signGraphJwt. */
export async function verifyJwt(
  jwt: DecodedJwt,
  keys: readonly SigningKey[],
  graphNonce = false,
): Promise<VerifyFailure | null> {
  if (jwt.header.alg !== "RS256") return "alg";
  const key = keys.find((k) => k.kid === jwt.header.kid);
  if (!key) return "kid";
  let input = jwt.input;
  if (graphNonce && typeof jwt.header.nonce === "string") {
    const header = { ...jwt.header, nonce: createHash("sha256").update(jwt.header.nonce).digest("hex") };
    input = `${b64url(JSON.stringify(header))}.${jwt.input.split(".")[1]}`;
  }
  const ok = await subtle.verify(RSA, key.publicKey, jwt.signature, new TextEncoder().encode(input));
  return ok ? null : "signature";
}
