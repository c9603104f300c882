// `node scripts/sync-theme.ts`: copies the shared look (app/base.css) into api/src/core/theme.ts, so the
// pages the API renders (consent, errors) look like the landing page. The API inlines the CSS (its
// pages' CSP allows inline styles only) and the Functions bundle can't read app/ at run time.
// tests/core/theme.test.ts fails when the two differ.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { themeModule } from "@entra-mcp/testing/theme";

const root = fileURLToPath(new URL("../", import.meta.url));

const css = readFileSync(`${root}app/base.css`, "utf8");
writeFileSync(`${root}api/src/core/theme.ts`, themeModule(css));
console.log("wrote api/src/core/theme.ts");
