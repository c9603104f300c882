// The real @azure/identity (MSAL Node) against the emulator, in a child process started with the
// emulator's environment (MSAL reads IDENTITY_* once per process; Node reads the CA at start).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startTrusted, userToken } from "./fixtures/helpers.ts";
import type { Emulator } from "./index.ts";

let em: Emulator;
before(async () => {
  em = await startTrusted();
});
after(() => em.stop());

test("ManagedIdentityCredential + OnBehalfOfCredential get a Graph token; /me returns the user; 65001 without consent", async () => {
  const adele = em.users.find((u) => u.consented)!;
  const alex = em.users.find((u) => !u.consented)!;
  const assertions = [
    (await userToken(em, adele.upn)).access_token,
    (await userToken(em, alex.upn)).access_token,
  ];
  em.resetCounts();
  const child = fileURLToPath(new URL("./fixtures/identity-child.ts", import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [child], {
    env: { PATH: process.env.PATH ?? "", ...em.serverEnv(), USER_ASSERTIONS: JSON.stringify(assertions) },
    timeout: 20_000,
  });
  const out = JSON.parse(stdout.trim().split("\n").pop()!);

  assert.equal(out.mi.aud, "fb60f99c-7a34-4190-8149-302f77469936");
  assert.equal(out.mi.sub, em.managedIdentity.principalId);
  assert.equal(out.mi.azp, em.managedIdentity.clientId);
  assert.equal(out.mi.idtyp, "app");

  const [ok, denied] = out.obo;
  assert.equal(ok.error, undefined, ok.error);
  assert.equal(ok.aud, "https://graph.microsoft.com");
  assert.equal(ok.appid, em.apiApp.clientId);
  assert.match(ok.scp, /\bUser\.Read\b/);
  assert.equal(ok.status, 200);
  assert.equal(ok.me.id, adele.oid);
  assert.equal(ok.me.displayName, "Adele Vance");
  assert.equal(ok.me.userPrincipalName, adele.upn);

  assert.match(denied.error, /AADSTS65001/);
  const counts = em.counts();
  assert.ok(counts.mi >= 1);
  assert.equal(counts["token.obo"], 2);
  assert.equal(counts[`token.obo.${adele.oid}`], 1);
  assert.equal(counts[`token.obo.${alex.oid}`], 1);
  assert.equal(counts["graph.me"], 1);
});
