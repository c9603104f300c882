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
 * The code of a file with comments and template literals blanked and each quoted string replaced by its
 * index in `strings`: a commented-out import neither counts nor hides one, and the word "import" inside
 * a string or a code sample in a template is not an import (no specifier is a template). A quoted string
 * ends at its line's end, so a quote inside a regular expression literal spoils one line at most.
 */
function lex(text: string): { code: string; strings: string[] } {
  let code = "";
  const strings: string[] = [];
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && (c === "`" || text[j] !== "\n"))
        j += text[j] === "\\" ? 2 : 1;
      const body = text.slice(i + 1, j);
      if (c === "`") code += `\`${body.replace(/[^\n]/g, " ")}\``;
      else code += `${c}${strings.push(body) - 1}${c}`;
      // An unterminated quoted string stops before the line break, which stays code.
      i = text[j] === c ? j + 1 : j;
    } else if (text.startsWith("//", i)) {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
    } else if (text.startsWith("/*", i)) {
      const end = text.indexOf("*/", i + 2);
      const chunk = text.slice(i, end < 0 ? text.length : end + 2);
      code += chunk.replace(/[^\n]/g, " ");
      i += chunk.length;
    } else {
      code += c;
      i++;
    }
  }
  return { code, strings };
}

/**
 * Every module specifier a file loads: static `import … from`, side-effect `import "…"`, `export … from`,
 * `import type … from` (harmless at run time, still a dependency on the module), dynamic `import("…")`
 * and `require("…")`.
 */
export function importedSpecifiers(text: string): string[] {
  const { code, strings } = lex(text);
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[\w*${}\s,]*?\s*from\s*(["'])(\d+)\1/g,
    /\bimport\s*(["'])(\d+)\1/g,
    /\b(?:import|require)\s*\(\s*(["'])(\d+)\1\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.push(strings[Number(m[2])]);
  return specs;
}
