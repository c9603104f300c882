// `npm run bench:token`: what sealing the grant key inside the proxy's access tokens costs on the hot
// path. Every MCP request verifies an access token (`verifyAccessToken`: ES256 signature, claims, one
// store read of the grant) and opens the sealed grant key (one AES-256-GCM decryption of 32 bytes and a
// key import). This measures both, in one process, on the in-memory store (so the store read costs
// next to nothing and the share of the seal is an upper bound; a Table Storage read adds milliseconds).
import { performance } from "node:perf_hooks";
import {
  createGrantService,
  openGrantKey,
  sealGrantKey,
} from "../api/src/authorization-server/tokens/grants.ts";
import { createKeyring } from "../api/src/authorization-server/tokens/keyring.ts";
import { loadConfig } from "../api/src/config/config.ts";
import { MemoryStore } from "../api/src/store/memory.ts";

const N = Number(process.env.BENCH_ITERATIONS ?? 5000);

const config = loadConfig({
  AUTH_MODE: "proxy",
  PUBLIC_URL: "http://127.0.0.1:7071",
  ENTRA_TENANT_ID: "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
  ENTRA_CLIENT_ID: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
  STORAGE_TABLE_ENDPOINT: "http://127.0.0.1:10002/devstoreaccount1",
});
const store = new MemoryStore();
const keyring = createKeyring(store);
const grants = createGrantService(config, { store, keyring });
const { code } = await grants.create({
  tid: config.entra.tenantId,
  oid: "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
  clientId: "bench",
  scopes: ["user_impersonation"],
  offline: false,
  upstream: { accessToken: "entra-at", expiresAt: Date.now() + 3_600_000 },
  code: { redirectUri: "http://127.0.0.1/cb", redirectUriGiven: true, codeChallenge: "x".repeat(43) },
});
const { access_token } = await grants.redeemCode(code, async () => {});
const { tokenKey } = await keyring.load();
const grantKey = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
  "encrypt",
  "decrypt",
]);
const sealed = await sealGrantKey(tokenKey, grantKey, "gid.jti");

async function time(label: string, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await fn(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await fn();
  const us = ((performance.now() - t0) * 1000) / N;
  console.log(`${label.padEnd(48)} ${us.toFixed(1).padStart(8)} µs/op`);
  return us;
}

console.log(`${N} iterations, Node ${process.version}`);
const verify = await time("verifyAccessToken (whole, incl. the seal)", () =>
  grants.verifyAccessToken(access_token),
);
const open = await time("open the sealed grant key (AES-GCM + import)", () =>
  openGrantKey(tokenKey, sealed, "gid.jti"),
);
const raw = new Uint8Array(await crypto.subtle.exportKey("raw", grantKey));
const clear = await time("import a key in clear (what the old claim cost)", () =>
  crypto.subtle.importKey("raw", raw, { name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]),
);
await time("seal a grant key (at issuance)", () => sealGrantKey(tokenKey, grantKey, "gid.jti"));
console.log(`the seal adds ~${(open - clear).toFixed(1)} µs per request over a key carried in clear`);
console.log(
  `the seal is ${((open / verify) * 100).toFixed(1)}% of verifying a token (in-memory store); ` +
    `without it a verification would take ~${(verify - open).toFixed(1)} µs`,
);
