// The API's pages (consent, errors) and the landing page share one look: api/src/core/theme.ts is
// app/base.css, copied by scripts/sync-theme.ts. A stale copy would let the two drift apart.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { themeModule } from "@entra-mcp/testing/theme";
import { page } from "../../api/src/core/page.ts";
import { BASE_CSS } from "../../api/src/core/theme.ts";

const root = new URL("../../", import.meta.url);

test("api/src/core/theme.ts is app/base.css (run `node scripts/sync-theme.ts` after editing the CSS)", () => {
  const css = readFileSync(new URL("app/base.css", root), "utf8");
  assert.equal(BASE_CSS, css.trim());
  assert.equal(readFileSync(new URL("api/src/core/theme.ts", root), "utf8"), themeModule(css));
});

test("server pages inline the shared CSS, escape the title and ask for no favicon", () => {
  const html = page(`<script>alert(1)</script>`, "<p>body</p>");
  assert.ok(html.includes(BASE_CSS));
  assert.ok(!html.includes("<script>"), "the title is escaped");
  assert.match(html, /<link rel="icon" href="data:,">/);
  assert.match(html, /<meta name="color-scheme" content="light dark">/);
});
