/**
 * Reading the server's sources as a graph of imports, for the architecture checks (portability, the
 * direction of dependencies between folders).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Every source file under `dir`, recursively. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs)$/.test(e.name) ? [path] : [];
  });
}

/** Comments blanked (strings kept), so a commented-out import neither counts nor hides one. */
export function stripComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
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
