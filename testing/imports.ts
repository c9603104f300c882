/**
 * The module specifiers a source file imports, read from its text with comments ignored, and the source
 * files under a folder: what the tests that guard the import rules between folders are built on.
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Every `.ts`/`.mts`/`.cts`/`.js`/`.mjs` file under `dir`, recursively (`node_modules` left out). */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs)$/.test(e.name) ? [path] : [];
  });
}

/**
 * Comments and template literals blanked (quoted strings kept), so a commented-out import neither counts
 * nor hides one, and neither does a code sample in a template (no import specifier is a template).
 */
function stripComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      const literal = text.slice(i, j + 1);
      out += c === "`" ? `\`${literal.slice(1, -1).replace(/[^\n]/g, " ")}\`` : literal;
      i = j + 1;
    } else if (text.startsWith("//", i)) {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
    } else if (text.startsWith("/*", i)) {
      const end = text.indexOf("*/", i + 2);
      const chunk = text.slice(i, end < 0 ? text.length : end + 2);
      out += chunk.replace(/[^\n]/g, " ");
      i += chunk.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * Every module specifier a file loads: static `import … from`, side-effect `import "…"`, `export … from`,
 * `import type … from` (harmless at run time, still a dependency on the module), dynamic `import("…")`
 * and `require("…")`.
 */
export function importedSpecifiers(text: string): string[] {
  const code = stripComments(text);
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[\w*${}\s,]*?\s*from\s*(["'])([^"']+)\1/g,
    /\bimport\s*(["'])([^"']+)\1/g,
    /\b(?:import|require)\s*\(\s*(["'])([^"']+)\1\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.push(m[2]);
  return specs;
}
