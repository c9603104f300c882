// `node scripts/sync-theme.ts`: copies the shared look (app/base.css) into api/src/core/theme.ts, so the
// pages the API renders (consent, errors) look like the landing page. The API inlines the CSS (its
// pages' CSP allows inline styles only) and the Functions bundle can't read app/ at run time.
// tests/core/theme.test.ts fails when the two differ.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

/** The TypeScript module that carries `css` (app/base.css) for the API. */
export function themeModule(css: string): string {
  const body = css.trim().replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${");
  return `// Generated from app/base.css by scripts/sync-theme.ts: edit that file and run the script.
/** The look shared by the landing page and the pages the API renders. */
export const BASE_CSS = \`${body}\`;
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const css = readFileSync(`${root}app/base.css`, "utf8");
  writeFileSync(`${root}api/src/core/theme.ts`, themeModule(css));
  console.log("wrote api/src/core/theme.ts");
}
