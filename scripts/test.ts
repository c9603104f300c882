// `npm test`: type-check, lint, then every test file under the node test runner.
// The runner's own summary is the last thing printed, so CI can read it.
import { spawnSync } from "node:child_process";
import { globSync } from "node:fs";
import { ensureChromium } from "@entra-mcp/testing/chromium";
import { ensureTrustedCa } from "@entra-mcp/testing/trust";

// Tests talk HTTPS to the local Entra emulator: every test process trusts its CA from the start.
await ensureTrustedCa();

const steps: Array<[string, string[]]> = [
  ["tsc", ["-p", "tsconfig.json"]],
  ["biome", ["ci", "."]],
];

for (const [cmd, args] of steps) {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`\n${cmd} failed; fix it before the tests run.`);
    process.exit(r.status ?? 1);
  }
}

const patterns = process.argv.slice(2);
const files = patterns.length
  ? patterns
  : ["api/**/*.test.ts", "emulator/**/*.test.ts", "testing/**/*.test.ts", "tests/**/*.test.ts"];

// The browser tests drive Debian's Chromium: install it first when they are part of this run.
if (globSync(files).some((f) => /(^|[\\/])tests[\\/]browser[\\/]/.test(f))) {
  try {
    ensureChromium();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
const r = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=2", "--test-timeout=180000", "--test-reporter=spec", ...files],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);
