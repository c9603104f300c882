// Generated from app/base.css by scripts/sync-theme.ts: edit that file and run the script.
/** The look shared by the landing page and the pages the API renders. */
export const BASE_CSS = `/*
 * The look shared by the landing page and the pages the API renders (consent, errors).
 * scripts/sync-theme.ts copies this file into api/src/core/theme.ts; tests/core/theme.test.ts checks they match.
 */
:root {
  color-scheme: light dark;
  --bg: #f5f7fa;
  --surface: #ffffff;
  --surface-2: #eef2f6;
  --fg: #17202b;
  --muted: #4f5b67;
  --border: #d3dae2;
  --accent: #0a5bb5;
  --accent-hover: #084a94;
  --accent-fg: #ffffff;
  --accent-soft: #e4eefa;
  --ok: #17743a;
  --warn: #8f5000;
  --err: #b42318;
  --code-bg: #eff2f5;
  --focus: #0a5bb5;
  --radius: 12px;
  --shadow: 0 1px 2px rgb(16 24 40 / 6%), 0 2px 6px rgb(16 24 40 / 6%);
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  --mono: ui-monospace, "Cascadia Mono", "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}

@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117;
    --surface: #161b22;
    --surface-2: #1f2630;
    --fg: #e6edf3;
    --muted: #9ea8b3;
    --border: #333b45;
    --accent: #58a6ff;
    --accent-hover: #7ab8ff;
    --accent-fg: #0d1117;
    --accent-soft: #15273d;
    --ok: #3fb950;
    --warn: #d29922;
    --err: #ff7b72;
    --code-bg: #0f141a;
    --focus: #7ab8ff;
    --shadow: none;
  }
}

*,
*::before,
*::after {
  box-sizing: border-box;
}

html {
  -webkit-text-size-adjust: 100%;
  text-size-adjust: 100%;
}

body {
  margin: 0;
  font: 16px / 1.55 var(--font);
  background: var(--bg);
  color: var(--fg);
}

a {
  color: var(--accent);
  text-underline-offset: 2px;
}

a:hover {
  color: var(--accent-hover);
}

h1,
h2,
h3 {
  line-height: 1.25;
  margin: 0 0 0.5rem;
}

h1 {
  font-size: clamp(1.6rem, 1.2rem + 1.6vw, 2.2rem);
  letter-spacing: -0.01em;
}

h2 {
  font-size: 1.35rem;
}

h3 {
  font-size: 1.1rem;
}

p {
  margin: 0 0 1rem;
}

code,
pre,
kbd {
  font-family: var(--mono);
  font-size: 0.875em;
}

:not(pre) > code {
  background: var(--code-bg);
  border: 1px solid var(--border);
  padding: 0.05em 0.35em;
  border-radius: 5px;
  overflow-wrap: anywhere;
}

pre {
  margin: 0;
  padding: 0.9rem 1rem;
  background: var(--code-bg);
  color: var(--fg);
  border: 1px solid var(--border);
  border-radius: 8px;
  overflow-x: auto;
  line-height: 1.5;
}

:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
}

.button {
  display: inline-flex;
  align-items: center;
  justify-content: center;
  gap: 0.4rem;
  font: inherit;
  font-weight: 600;
  line-height: 1.3;
  padding: 0.55rem 1.1rem;
  border-radius: 8px;
  border: 1px solid var(--border);
  background: var(--surface);
  color: var(--fg);
  cursor: pointer;
  text-decoration: none;
}

.button:hover {
  background: var(--surface-2);
  color: var(--fg);
}

.button[hidden] {
  display: none;
}

.button.primary {
  background: var(--accent);
  border-color: var(--accent);
  color: var(--accent-fg);
}

.button.primary:hover {
  background: var(--accent-hover);
  border-color: var(--accent-hover);
  color: var(--accent-fg);
}

.site-header {
  background: var(--surface);
  border-bottom: 1px solid var(--border);
}

.wrap {
  max-width: 60rem;
  margin: 0 auto;
  padding: 0 1.25rem;
}

.header-row {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  justify-content: space-between;
  gap: 0.5rem 1rem;
  min-height: 3.75rem;
  padding-top: 0.5rem;
  padding-bottom: 0.5rem;
}

.brand {
  display: inline-flex;
  align-items: center;
  gap: 0.6rem;
  margin: 0;
  font-weight: 700;
  color: var(--fg);
  text-decoration: none;
}

.brand svg {
  width: 1.9rem;
  height: 1.9rem;
  flex: none;
}

.brand .mark-bg {
  fill: var(--accent);
}

.brand .mark-fg {
  stroke: var(--accent-fg);
}

.card {
  background: var(--surface);
  border: 1px solid var(--border);
  border-radius: var(--radius);
  box-shadow: var(--shadow);
  padding: 1.5rem;
}

.narrow {
  max-width: 38rem;
  margin: 2.5rem auto;
}

.muted {
  color: var(--muted);
}

.ok {
  color: var(--ok);
}

.warn {
  color: var(--warn);
}

.err {
  color: var(--err);
}

dl.facts {
  display: grid;
  grid-template-columns: max-content 1fr;
  gap: 0.6rem 1rem;
  margin: 1.25rem 0;
}

dl.facts dt {
  font-weight: 600;
}

dl.facts dd {
  margin: 0;
  min-width: 0;
  overflow-wrap: anywhere;
}

dl.facts ul {
  margin: 0;
  padding-left: 1.2rem;
}

.actions {
  display: flex;
  flex-wrap: wrap;
  gap: 0.75rem;
  margin-top: 1.5rem;
}

.visually-hidden {
  position: absolute;
  width: 1px;
  height: 1px;
  margin: -1px;
  padding: 0;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
  border: 0;
}

@media (max-width: 30rem) {
  .card {
    padding: 1.1rem;
  }

  .narrow {
    margin: 1.25rem auto;
  }

  dl.facts {
    grid-template-columns: 1fr;
    gap: 0.2rem;
  }

  dl.facts dd {
    margin-bottom: 0.6rem;
  }
}`;
