/**
 * Makes sure Debian's Chromium is at `/usr/bin/chromium` for the browser tests (playwright-core drives
 * it; playwright never downloads a browser here). Cheap when it is there: one `existsSync`.
 * Otherwise it runs `apt-get install -y chromium` (and `apt-get update` first when the package lists
 * don't know it), which needs root, as in CI.
 *
 * `node scripts/ensure-chromium.ts` does it by hand; `npm test` calls it before browser tests.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const CHROMIUM = "/usr/bin/chromium";

function run(cmd: string, args: string[]): number {
  const r = spawnSync(cmd, args, {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.error) throw new Error(`${cmd} could not start: ${r.error.message}`);
  return r.status ?? 1;
}

function knownToApt(): boolean {
  const r = spawnSync("apt-cache", ["policy", "chromium"], { encoding: "utf8" });
  return r.status === 0 && /Candidate:\s*(?!\(none\))\S+/.test(r.stdout);
}

/** Returns the browser's path, installing Debian's `chromium` first if it is missing. */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${CHROMIUM} is missing and this is not root: run \`sudo apt-get install -y chromium\` and try again.`,
    );
  }
  console.log(`${CHROMIUM} is missing: installing Debian's chromium with apt-get…`);
  if (!knownToApt() && run("apt-get", ["update"]) !== 0) throw new Error("apt-get update failed");
  let status = run("apt-get", ["install", "-y", "--no-install-recommends", "chromium", "fonts-dejavu-core"]);
  // Stale package lists (a mirror moved a version on): refresh once and retry.
  if (status !== 0 && run("apt-get", ["update"]) === 0) {
    status = run("apt-get", ["install", "-y", "--no-install-recommends", "chromium", "fonts-dejavu-core"]);
  }
  if (status !== 0 || !existsSync(CHROMIUM)) throw new Error(`apt-get could not install ${CHROMIUM}`);
  return CHROMIUM;
}
