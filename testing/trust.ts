/**
 * Node reads `NODE_EXTRA_CA_CERTS` only at process start, so a script that talks to the local
 * emulator over HTTPS re-runs itself once with the emulator's CA in that variable. A CA file the
 * environment already names (a corporate proxy's, say) is kept: both go into one bundle.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ensureCa } from "@entra-mcp/emulator/ca";

/** The CA file the server and clients should trust: the emulator's CA plus any the environment had. */
export async function trustBundle(): Promise<string> {
  const { caPath } = await ensureCa();
  const inherited = process.env.NODE_EXTRA_CA_CERTS;
  if (!inherited || inherited === caPath || inherited.startsWith(dirname(caPath)) || !existsSync(inherited))
    return caPath;
  const bundle = join(dirname(caPath), "bundle.pem");
  const tmp = `${bundle}.${process.pid}`;
  writeFileSync(tmp, `${readFileSync(caPath, "utf8")}\n${readFileSync(inherited, "utf8")}`);
  renameSync(tmp, bundle);
  return bundle;
}

/** Returns the CA bundle once this process trusts it; otherwise re-executes the script and exits with its code. */
export async function ensureTrustedCa(): Promise<string> {
  const bundle = await trustBundle();
  if (process.env.NODE_EXTRA_CA_CERTS === bundle) return bundle;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle },
  });
  // The child does the work; signals sent to this process (not to the whole group) are passed on.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) =>
    child.once("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0))),
  );
  process.exit(code);
}
