/**
 * Bicep without a compiler: parses `.bicep` files with tree-sitter-bicep (its wasm build, through
 * web-tree-sitter) and exposes the declarations the infra tests look at.
 *
 * tree-sitter-bicep 1.1.0 predates Bicep's `extension` statement (it knows the older `import`/`provider`
 * forms), so `extension <name>` lines are blanked before parsing (same length, positions unchanged) and
 * returned separately; `extensionStatementProblems` checks their shape instead.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import type { Node } from "web-tree-sitter";
import { Language, Parser } from "web-tree-sitter";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const infraDir = join(repoRoot, "infra");

export interface BicepFile {
  path: string;
  /** Path relative to the repository root, for messages. */
  name: string;
  source: string;
  root: Node;
  /** `extension` statements (masked before parsing): name and 1-based line. */
  extensions: Array<{ text: string; line: number }>;
}

export interface ResourceDecl {
  symbol: string;
  /** `Microsoft.Web/sites@2024-11-01` */
  type: string;
  existing: boolean;
  /** The body object literal (inside `if (...)` and `[for ...: ...]` when present). */
  body: Node | null;
  node: Node;
}

export interface ModuleDecl {
  symbol: string;
  path: string;
  body: Node | null;
  node: Node;
}

export interface ParamDecl {
  name: string;
  type: string;
  /** Has a default value (or a nullable type), so callers may omit it. */
  optional: boolean;
  defaultValue: Node | null;
}

let parserPromise: Promise<Parser> | undefined;

/** One parser for the whole test process; loading the wasm takes a few tens of milliseconds. */
export function bicepParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init();
    const require = createRequire(import.meta.url);
    const wasm = join(dirname(require.resolve("tree-sitter-bicep/package.json")), "tree-sitter-bicep.wasm");
    const parser = new Parser();
    parser.setLanguage(await Language.load(wasm));
    return parser;
  })();
  return parserPromise;
}

const EXTENSION_LINE = /^[ \t]*extension[ \t]+[^\n]*$/gm;

export async function parseBicep(path: string): Promise<BicepFile> {
  const source = readFileSync(path, "utf8");
  const extensions: BicepFile["extensions"] = [];
  const masked = source.replace(EXTENSION_LINE, (m, offset: number) => {
    extensions.push({ text: m.trim(), line: source.slice(0, offset).split("\n").length });
    return " ".repeat(m.length);
  });
  const tree = (await bicepParser()).parse(masked);
  if (!tree) throw new Error(`tree-sitter returned no tree for ${path}`);
  return { path, name: relative(repoRoot, path), source, root: tree.rootNode, extensions };
}

/** Every `.bicep` file under `dir`, sorted. */
export function bicepFiles(dir = infraDir): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (entry.endsWith(".bicep")) out.push(p);
    }
  };
  walk(dir);
  return out;
}

const parsed = new Map<string, Promise<BicepFile>>();

/** Parses each file once per process. */
export function loadBicep(path: string): Promise<BicepFile> {
  const key = resolve(path);
  let p = parsed.get(key);
  if (!p) {
    p = parseBicep(key);
    parsed.set(key, p);
  }
  return p;
}

export function loadAllBicep(): Promise<BicepFile[]> {
  return Promise.all(bicepFiles().map(loadBicep));
}

/** `file:line:col` of a node, for messages. */
export function where(file: BicepFile, node: Node): string {
  return `${file.name}:${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
}

/** ERROR and MISSING nodes: what the parser could not make sense of. */
export function syntaxProblems(file: BicepFile): string[] {
  const problems: string[] = [];
  const walk = (n: Node) => {
    if (n.isError || n.isMissing) {
      problems.push(
        `${where(file, n)}: ${n.isMissing ? `missing ${n.type}` : "syntax error"} near ${JSON.stringify(n.text.slice(0, 60))}`,
      );
      return;
    }
    for (const c of n.children) if (c) walk(c);
  };
  walk(file.root);
  return problems;
}

/** `extension <identifier>` (an alias from bicepconfig.json) or `extension '<registry ref>'`, optionally `with {...} as x`. */
export function extensionStatementProblems(file: BicepFile): string[] {
  const ok = /^extension\s+([A-Za-z_][A-Za-z0-9_]*|'[^'\n]+')(\s+as\s+[A-Za-z_][A-Za-z0-9_]*)?$/;
  return file.extensions
    .filter((e) => !ok.test(e.text))
    .map((e) => `${file.name}:${e.line}: malformed extension statement ${JSON.stringify(e.text)}`);
}

export function named(node: Node | null | undefined): Node[] {
  return node ? node.namedChildren.filter((c): c is Node => c !== null) : [];
}

/** The text of a plain string literal (no interpolation), else undefined. */
export function stringLiteral(node: Node | null | undefined): string | undefined {
  if (node?.type !== "string") return undefined;
  const parts = named(node);
  if (parts.some((p) => p.type !== "string_content" && p.type !== "escape_sequence")) return undefined;
  return node.text.startsWith("'''") ? node.text.slice(3, -3) : unescapeBicep(node.text.slice(1, -1));
}

function unescapeBicep(s: string): string {
  const escapes: Record<string, string> = { n: "\n", r: "\r", t: "\t" };
  return s.replace(/\\(.)/g, (_, c: string) => escapes[c] ?? c);
}

/** The key of an object property: identifier or plain string; undefined for interpolated keys. */
export function propertyKey(prop: Node): string | undefined {
  const key = named(prop)[0];
  if (!key) return undefined;
  if (key.type === "identifier") return key.text;
  return stringLiteral(key);
}

/** The value node of an object property. */
export function propertyValue(prop: Node): Node | null {
  const kids = named(prop);
  return kids[kids.length - 1] ?? null;
}

/** Properties of an object literal, in order, with their keys (undefined when computed). */
export function objectEntries(
  obj: Node | null,
): Array<{ key: string | undefined; value: Node | null; node: Node }> {
  if (obj?.type !== "object") return [];
  return named(obj)
    .filter((c) => c.type === "object_property")
    .map((p) => ({ key: propertyKey(p), value: propertyValue(p), node: p }));
}

export function objectGet(obj: Node | null, key: string): Node | null {
  return objectEntries(obj).find((e) => e.key === key)?.value ?? null;
}

/** Unwraps `if (...) {...}` and `[for x in y: ...]` down to the object literal, when there is one. */
export function bodyObject(node: Node | null): Node | null {
  let n = node;
  for (let i = 0; n && i < 4; i++) {
    if (n.type === "object") return n;
    if (n.type === "if_statement") n = named(n).find((c) => c.type === "object") ?? null;
    else if (n.type === "for_statement") n = n.childForFieldName("body");
    else return null;
  }
  return null;
}

export function statements(file: BicepFile, type: string): Node[] {
  return named(file.root).filter((n) => n.type === type);
}

export function resources(file: BicepFile): ResourceDecl[] {
  return statements(file, "resource_declaration").map((node) => {
    const [symbol, type, value] = named(node);
    return {
      symbol: symbol?.text ?? "",
      type: stringLiteral(type) ?? type?.text ?? "",
      existing: node.children.some((c) => c?.type === "existing"),
      body: bodyObject(value ?? null),
      node,
    };
  });
}

export function modules(file: BicepFile): ModuleDecl[] {
  return statements(file, "module_declaration").map((node) => {
    const [symbol, path, value] = named(node);
    return {
      symbol: symbol?.text ?? "",
      path: stringLiteral(path) ?? "",
      body: bodyObject(value ?? null),
      node,
    };
  });
}

export function params(file: BicepFile): ParamDecl[] {
  return statements(file, "parameter_declaration").map((node) => {
    const [name, type, defaultValue] = named(node);
    const typeText = type?.text ?? "";
    return {
      name: name?.text ?? "",
      type: typeText,
      optional: defaultValue !== undefined || typeText.endsWith("?"),
      defaultValue: defaultValue ?? null,
    };
  });
}

export function variables(file: BicepFile): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const node of statements(file, "variable_declaration")) {
    const kids = named(node);
    const name = kids[0];
    const value = kids[kids.length - 1];
    if (name && value && kids.length >= 2) out.set(name.text, value);
  }
  return out;
}

export function outputs(
  file: BicepFile,
): Array<{ name: string; type: string; value: Node | null; node: Node }> {
  return statements(file, "output_declaration").map((node) => {
    const kids = named(node);
    return {
      name: kids[0]?.text ?? "",
      type: kids[1]?.text ?? "",
      value: kids[kids.length - 1] ?? null,
      node,
    };
  });
}

/** Collapses whitespace so expressions compare as written, whatever the line breaks. */
export function expr(node: Node | null | undefined): string {
  return (node?.text ?? "").replace(/\s+/g, " ").trim();
}
