// `node scripts/ensure-chromium.ts`: makes sure Debian's Chromium is installed for the browser tests
// (apt-get, as root) and prints its path. `npm test` does the same before it runs browser tests.
import { ensureChromium } from "@entra-mcp/testing/chromium";

try {
  console.log(ensureChromium());
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
