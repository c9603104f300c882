/**
 * The direction of dependencies in api/src, as the README's Architecture section states it:
 *
 * - every folder of api/src stands on one layer (`LAYERS`, top first); a file imports from its own folder
 *   or from a folder on a lower layer, never from a folder on its own layer or above;
 * - inside any folder, its subfolders (and the folder's own files) import each other in one direction
 *   only: no two of them import each other, directly or round a loop.
 *
 * A failure names each import that breaks the rule.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { importedSpecifiers, sourceFiles } from "@entra-mcp/testing/imports";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = join(ROOT, "api/src");

/** Top first. "." is the files directly in api/src (the app and the services it is built from). */
const LAYERS: readonly (readonly string[])[] = [
  ["hosts"],
  ["."],
  ["authorization-server", "resource-server", "mcp", "legacy-sse"],
  ["graph"],
  ["entra", "store"],
  ["config"],
  ["core"],
];

interface Import {
  from: string;
  to: string;
}

/** Every import from one file of api/src to another, as paths relative to api/src. */
function sourceImports(): Import[] {
  const imports: Import[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of importedSpecifiers(readFileSync(file, "utf8"))) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(`${SRC}${sep}`)) continue;
      imports.push({ from: relative(SRC, file), to: relative(SRC, target) });
    }
  }
  return imports;
}

/** The part of `dir` that `path` lies in: one of its subfolders, or "." for the files directly in it. */
function unitOf(dir: string, path: string): string | undefined {
  const prefix = dir === "" ? "" : `${dir}/`;
  if (!path.startsWith(prefix)) return undefined;
  const rest = path.slice(prefix.length).split("/");
  return rest.length > 1 ? rest[0] : ".";
}

/**
 * The imports that take part in a loop between the units of one folder (Tarjan's strongly connected
 * components over the units; every import inside a component of two or more units is reported).
 */
export function importsInLoops(edges: Array<Import & { fromUnit: string; toUnit: string }>): Import[] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.fromUnit === e.toUnit) continue;
    if (!next.has(e.fromUnit)) next.set(e.fromUnit, new Set());
    next.get(e.fromUnit)?.add(e.toUnit);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const component = new Map<string, number>();
  let counter = 0;
  let components = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      let w: string | undefined;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.set(w, components);
      } while (w !== v);
      components++;
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return edges
    .filter((e) => e.fromUnit !== e.toUnit && component.get(e.fromUnit) === component.get(e.toUnit))
    .map(({ from, to }) => ({ from, to }));
}

/** Every folder of api/src, as a path relative to it ("" for api/src itself). */
function folders(): string[] {
  const dirs = new Set<string>([""]);
  for (const file of sourceFiles(SRC)) {
    const parts = relative(SRC, file).split(sep).slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return [...dirs].sort();
}

describe("dependencies: one direction between the folders of api/src", () => {
  const imports = sourceImports();
  const layerOf = (folder: string) => LAYERS.findIndex((layer) => layer.includes(folder));

  it("the loop finder reports the imports of a loop and nothing else", () => {
    const e = (from: string, to: string) => ({
      from: `${from}/x.ts`,
      to: `${to}/y.ts`,
      fromUnit: from,
      toUnit: to,
    });
    assert.deepEqual(importsInLoops([e("a", "b"), e("b", "c"), e("c", "a"), e("c", "d"), e("a", "a")]), [
      { from: "a/x.ts", to: "b/y.ts" },
      { from: "b/x.ts", to: "c/y.ts" },
      { from: "c/x.ts", to: "a/y.ts" },
    ]);
    assert.deepEqual(importsInLoops([e("a", "b"), e("a", "c"), e("b", "c")]), []);
  });

  it("reads the server's imports", () => {
    assert.ok(imports.length > 50, `expected the imports of ${SRC}, found ${imports.length}`);
    for (const i of imports) assert.ok(statSync(join(SRC, i.to)).isFile(), `${i.from} imports ${i.to}`);
  });

  it("every folder of api/src stands on a layer", () => {
    const unplaced = folders()
      .map((dir) => (dir === "" ? "." : dir.split("/")[0]))
      .filter((top, i, all) => all.indexOf(top) === i && layerOf(top) < 0);
    assert.deepEqual(unplaced, [], "add each new folder to LAYERS (and to the README's folder table)");
  });

  it("a file imports only from its own folder or from a lower layer", () => {
    const offenders = imports
      .map((i) => ({ ...i, a: unitOf("", i.from) ?? ".", b: unitOf("", i.to) ?? "." }))
      .filter(({ a, b }) => a !== b && layerOf(b) <= layerOf(a))
      .map(
        ({ from, to, a, b }) =>
          `${from} imports ${to} (${a} is on layer ${layerOf(a)}, ${b} on ${layerOf(b)})`,
      );
    assert.deepEqual(offenders, []);
  });

  it("inside every folder, no two subfolders import each other", () => {
    const offenders: string[] = [];
    for (const dir of folders()) {
      const edges = imports.flatMap((i) => {
        const fromUnit = unitOf(dir, i.from);
        const toUnit = unitOf(dir, i.to);
        return fromUnit && toUnit ? [{ ...i, fromUnit, toUnit }] : [];
      });
      for (const i of importsInLoops(edges))
        offenders.push(`in api/src/${dir || "."}: ${i.from} imports ${i.to}, round a loop`);
    }
    assert.deepEqual(offenders, []);
  });
});
