/**
 * Server-rendered pages (consent, errors) in the landing page's look. Callers escape their content.
 *
 * @module
 */
export function page(title: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1b1f24; --card: #fff; --muted: #57606a; --accent: #0b5cad; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --card: #161b22; --muted: #9da7b3; --accent: #58a6ff; } }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
main { max-width: 36rem; margin: 3rem auto; padding: 2rem; background: var(--card); border-radius: 12px; }
h1 { font-size: 1.4rem; margin-top: 0; }
code { font-family: ui-monospace, monospace; }
.muted { color: var(--muted); }
.warn { color: #b35900; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .5rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
dl.facts ul { margin: 0; padding-left: 1.2rem; }
.actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
button { font: inherit; padding: .6rem 1.4rem; border-radius: 8px; border: 1px solid var(--muted); background: transparent; color: var(--fg); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
</style>
</head>
<body><main><h1>${title}</h1>${bodyHtml}</main></body>
</html>`;
}
