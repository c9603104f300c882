/**
 * What `scripts/sync-theme.ts` writes to api/src/core/theme.ts for a given app/base.css, so the theme test can
 * tell a stale copy from a fresh one.
 *
 * @module
 */

/** The TypeScript module that carries `css` (app/base.css) for the API. */
export function themeModule(css: string): string {
  const body = css.trim().replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${");
  return `// Generated from app/base.css by scripts/sync-theme.ts: edit that file and run the script.
/** The look shared by the landing page and the pages the API renders. */
export const BASE_CSS = \`${body}\`;
`;
}
