/**
 * Import rules between the repository's top-level folders: test support lives in one package that the
 * tests, the benchmark and the npm scripts share, so `tests/` never imports `scripts/`, `bench/` never
 * imports `tests/`, and the test support imports neither. The emulator and the test support are
 * workspace packages, imported by name (`@entra-mcp/emulator`, `@entra-mcp/testing`), never through a
 * relative path into their folders; the emulator imports nothing of this repository, and the server
 * (`api/`) imports neither package.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";
import { importedSpecifiers, sourceFiles } from "@entra-mcp/testing/imports";
import { ROOT } from "@entra-mcp/testing/stack";

const PACKAGES: Record<string, string> = {
  "@entra-mcp/emulator": "emulator",
  "@entra-mcp/testing": "testing",
};

/** Top-level folders a folder must not import from. */
const FORBIDDEN: Record<string, string[]> = {
  tests: ["scripts"],
  bench: ["tests"],
  testing: ["tests", "scripts", "bench"],
  emulator: ["api", "testing", "tests", "scripts", "bench", "app", "infra"],
  api: ["emulator", "testing", "tests", "scripts", "bench"],
};

interface Target {
  folder: string;
  /** Reached through a relative path rather than a package name. */
  relative: boolean;
}

/** The top-level folder `spec` (imported by the file at repository path `from`) points into, if any. */
export function importTarget(from: string, spec: string): Target | undefined {
  if (spec.startsWith(".")) {
    const to = relative(ROOT, resolve(ROOT, dirname(from), spec));
    if (to.startsWith("..")) return { folder: "..", relative: true };
    return { folder: to.split(sep)[0], relative: true };
  }
  const pkg = Object.keys(PACKAGES).find((p) => spec === p || spec.startsWith(`${p}/`));
  return pkg ? { folder: PACKAGES[pkg], relative: false } : undefined;
}

/** Every broken rule in `files` (repository path → source text), one line each. */
export function violations(files: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const folder = file.split("/")[0];
    for (const spec of importedSpecifiers(text)) {
      const target = importTarget(file, spec);
      if (!target || target.folder === folder) continue;
      if (target.folder === "..") out.push(`${file} imports ${spec}, outside the repository`);
      else if (FORBIDDEN[folder]?.includes(target.folder))
        out.push(`${file} imports ${spec}: ${folder}/ must not import ${target.folder}/`);
      else if (target.relative && Object.values(PACKAGES).includes(target.folder))
        out.push(`${file} imports ${spec}: import ${target.folder}/ by its package name`);
    }
  }
  return out;
}

function repositoryFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const top of ["api", "bench", "emulator", "scripts", "testing", "tests"]) {
    for (const path of sourceFiles(join(ROOT, top))) {
      files[relative(ROOT, path).split(sep).join("/")] = readFileSync(path, "utf8");
    }
  }
  return files;
}

describe("import rules between top-level folders", () => {
  it("finds each kind of broken rule, and not one in a comment", () => {
    const found = violations({
      "tests/a/x.test.ts": `import { startStack } from "../../scripts/lib/stack.ts";\n// import "../../scripts/y.ts";`,
      "tests/b.test.ts": `const m = await import("../scripts/token.ts");`,
      "bench/run.ts": `import { toolCall } from "../tests/helpers/mcp-request.ts";`,
      "testing/stack.ts": `import { x } from "../tests/y.ts";\nimport type { Stack } from "./stack.ts";`,
      "scripts/start.ts": `import { start } from "../emulator/index.ts";\nimport { a } from "@entra-mcp/testing/stack";`,
      "emulator/index.ts": `import { createApp } from "../api/src/app.ts";\nimport { y } from "./keys.ts";`,
      "api/src/app.ts": `import { signIn } from "@entra-mcp/emulator/signin";`,
    });
    assert.deepEqual(found, [
      "tests/a/x.test.ts imports ../../scripts/lib/stack.ts: tests/ must not import scripts/",
      "tests/b.test.ts imports ../scripts/token.ts: tests/ must not import scripts/",
      "bench/run.ts imports ../tests/helpers/mcp-request.ts: bench/ must not import tests/",
      "testing/stack.ts imports ../tests/y.ts: testing/ must not import tests/",
      "scripts/start.ts imports ../emulator/index.ts: import emulator/ by its package name",
      "emulator/index.ts imports ../api/src/app.ts: emulator/ must not import api/",
      "api/src/app.ts imports @entra-mcp/emulator/signin: api/ must not import emulator/",
    ]);
  });

  it("each workspace package declares every package it imports", () => {
    const files = repositoryFiles();
    for (const folder of Object.values(PACKAGES)) {
      const manifest = JSON.parse(readFileSync(join(ROOT, folder, "package.json"), "utf8")) as Record<
        string,
        Record<string, string> | undefined
      >;
      const declared = new Set(
        ["dependencies", "devDependencies", "peerDependencies"].flatMap((k) =>
          Object.keys(manifest[k] ?? {}),
        ),
      );
      const missing = new Set<string>();
      for (const [file, text] of Object.entries(files)) {
        if (!file.startsWith(`${folder}/`)) continue;
        for (const spec of importedSpecifiers(text)) {
          if (spec.startsWith(".") || spec.startsWith("node:")) continue;
          const name = spec
            .split("/")
            .slice(0, spec.startsWith("@") ? 2 : 1)
            .join("/");
          if (!declared.has(name)) missing.add(`${folder}/package.json lacks ${name} (${file})`);
        }
      }
      assert.deepEqual([...missing], []);
    }
  });

  it("the repository keeps every rule", () => {
    const files = repositoryFiles();
    for (const top of ["tests", "bench", "testing", "emulator", "scripts"]) {
      assert.ok(
        Object.keys(files).some((f) => f.startsWith(`${top}/`)),
        `no source files found under ${top}/`,
      );
    }
    assert.deepEqual(violations(files), []);
  });
});
