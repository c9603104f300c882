// Local root CA for the emulator's HTTPS listeners. Pure JS (WebCrypto + @peculiar/x509).
// ca.pem (certificate only) and ca-key.pem (PKCS#8, mode 0600) live in a git-ignored folder.
import { randomBytes, webcrypto } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import "./reflect-shim.ts";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

export const DEFAULT_CA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", ".local", "emulator-ca");

export interface LocalCa {
  caPath: string;
  keyPath: string;
  certPem: string;
  /** Issues a fresh TLS server certificate for 127.0.0.1 (IP SAN) and localhost. */
  issueServerCert(): Promise<{ cert: string; key: string }>;
}

function pemBody(pem: string): Uint8Array {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return new Uint8Array(Buffer.from(b64, "base64"));
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

function tempPath(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
}

/**
 * Creates the pair without races: the key is published with link() (fails if another process got
 * there first; the loser discards its pair), then the certificate by an atomic rename.
 */
async function createCa(dir: string): Promise<void> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(8).toString("hex")}`,
    name: "CN=Entra MCP emulator local CA, O=entra-mcp-server (local development only)",
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 5 * 365 * 86400_000),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  const keyPath = join(dir, "ca-key.pem");
  const tmpKey = tempPath(keyPath);
  const tmpCert = tempPath(join(dir, "ca.pem"));
  writeFileSync(tmpKey, toPem(pkcs8, "PRIVATE KEY"), { mode: 0o600 });
  writeFileSync(tmpCert, cert.toString("pem"), { mode: 0o644 });
  try {
    linkSync(tmpKey, keyPath);
    renameSync(tmpCert, join(dir, "ca.pem"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    rmSync(tmpKey, { force: true });
    rmSync(tmpCert, { force: true });
  }
}

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50));
}

/** Generates the CA once, then reuses it. Call before starting processes that need NODE_EXTRA_CA_CERTS. */
export async function ensureCa(dir: string = DEFAULT_CA_DIR): Promise<LocalCa> {
  mkdirSync(dir, { recursive: true });
  const caPath = join(dir, "ca.pem");
  const keyPath = join(dir, "ca-key.pem");
  const load = async () => {
    if (!existsSync(keyPath)) await createCa(dir);
    await waitFor(caPath);
    const certPem = readFileSync(caPath, "utf8");
    const cert = new x509.X509Certificate(certPem);
    const key = await webcrypto.subtle.importKey("pkcs8", pemBody(readFileSync(keyPath, "utf8")), EC, false, [
      "sign",
    ]);
    const probe = new Uint8Array(16);
    const sig = await webcrypto.subtle.sign(SIGN, key, probe);
    const pub = await cert.publicKey.export(EC, ["verify"]);
    if (!(await webcrypto.subtle.verify(SIGN, pub, sig, probe)))
      throw new Error("CA key and certificate differ");
    return { certPem, cert, key };
  };
  let loaded: Awaited<ReturnType<typeof load>>;
  try {
    loaded = await load();
  } catch {
    // A stale or broken folder (e.g. a crash between key and certificate): start again once.
    rmSync(keyPath, { force: true });
    rmSync(caPath, { force: true });
    loaded = await load();
  }
  const { certPem, cert: caCert, key: caKey } = loaded;
  const signingKey = caKey;
  const issuerCert = caCert;
  return {
    caPath,
    keyPath,
    certPem,
    async issueServerCert() {
      const keys = (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
      const now = Date.now();
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: `02${randomBytes(8).toString("hex")}`,
        subject: "CN=127.0.0.1",
        issuer: issuerCert.subject,
        notBefore: new Date(now - 3600_000),
        notAfter: new Date(now + 30 * 86400_000),
        signingAlgorithm: SIGN,
        publicKey: keys.publicKey,
        signingKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension([
            { type: "ip", value: "127.0.0.1" },
            { type: "dns", value: "localhost" },
          ]),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(issuerCert),
        ],
      });
      const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
      return { cert: cert.toString("pem"), key: toPem(pkcs8, "PRIVATE KEY") };
    },
  };
}
