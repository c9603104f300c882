import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { importedSpecifiers } from "./imports.ts";

describe("importedSpecifiers", () => {
  it("the import parser finds every form of import", () => {
    const sample = `import a from "node:fs";
import { b,
  c } from 'node:path';
import * as d from "@azure/functions";
import type { E } from "node:http";
import "node:process";
export { f } from "node:os";
export * from "node:util";
const g = await import("node:crypto");
const h = require("node:net");
// import nope from "node:commented";
/* import nope from "node:block"; */
`;
    assert.deepEqual(importedSpecifiers(sample).sort(), [
      "@azure/functions",
      "node:crypto",
      "node:fs",
      "node:http",
      "node:net",
      "node:os",
      "node:path",
      "node:process",
      "node:util",
    ]);
  });

  it("an import written inside a template literal (a code sample) is not an import", () => {
    const sample = `const a = \`import x from "./sample.ts"\`;
import { y } from "./y.ts";`;
    assert.deepEqual(importedSpecifiers(sample), ["./y.ts"]);
  });

  it("the word import at the end of a string, and quotes in a regular expression, are no imports", () => {
    const sample = `it("finds every form of import", () => {});
const re = /name="a" value="([^"]+)"/;
const m = await import("./later.ts");`;
    assert.deepEqual(importedSpecifiers(sample), ["./later.ts"]);
  });
});
