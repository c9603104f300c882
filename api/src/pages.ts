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
</style>
</head>
<body><main><h1>${title}</h1>${bodyHtml}</main></body>
</html>`;
}
