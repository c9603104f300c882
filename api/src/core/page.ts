/**
 * Server-rendered pages (consent, errors) in the landing page's look: the same CSS (`theme.ts`, from
 * `app/base.css`), header and card, light and dark. Inline styles only and no script, so the pages'
 * CSP (`default-src 'none'; style-src 'unsafe-inline'`) stays strict. Callers escape the body.
 *
 * @module
 */
import { escapeHtml } from "./html.ts";
import { BASE_CSS } from "./theme.ts";

/** The brand mark, also in app/index.html: colours from classes (no `style` attribute), so any CSP takes it. */
export const BRAND_MARK = `<svg viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect class="mark-bg" width="32" height="32" rx="8"/><path class="mark-fg" d="M9 22V10l7 7 7-7v12" fill="none" stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

export function page(title: string, bodyHtml: string): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${t} · Entra MCP server</title>
<link rel="icon" href="data:,">
<style>
${BASE_CSS}
.card h1 { font-size: 1.5rem; }
.card > p:last-child, .card form:last-child .actions { margin-bottom: 0; }
.client-name { overflow-wrap: anywhere; }
ul.grants { list-style: none; padding: 0; margin: 1rem 0; }
li.grant { border-top: 1px solid color-mix(in srgb, currentColor 15%, transparent); padding: 0.75rem 0; }
li.grant h3 { margin: 0 0 0.5rem; font-size: 1.1rem; }
form.inline { display: inline; }
form.search label { display: block; margin: 0 0 0.5rem; }
form.search input { display: block; width: 100%; box-sizing: border-box; padding: 0.4rem; font: inherit; }
section.admin { margin-top: 2rem; }
.notice { font-weight: 600; }
form.signout { margin-top: 1.5rem; }
</style>
</head>
<body>
<header class="site-header"><div class="wrap header-row"><span class="brand">${BRAND_MARK}Entra MCP server</span></div></header>
<main class="wrap"><div class="card narrow"><h1>${t}</h1>
${bodyHtml}
</div></main>
</body>
</html>`;
}

/** Headers for server-rendered auth pages: no framing, no scripts, forms only to the given targets. */
export function pageSecurityHeaders(formTargets: string[]): Record<string, string> {
  return {
    "Content-Security-Policy": [
      "default-src 'none'",
      "style-src 'unsafe-inline'",
      "img-src 'self' data:",
      // Chrome applies form-action to the redirects that follow a form post, too.
      `form-action 'self' ${formTargets.join(" ")}`.trim(),
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join("; "),
    "X-Frame-Options": "DENY",
    // Not `no-referrer`: under it browsers send `Origin: null` with the consent form's POST, which the
    // consent endpoint's Origin check (rightly) refuses. `same-origin` still sends nothing elsewhere.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
  };
}
