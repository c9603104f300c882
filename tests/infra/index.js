// Lets `node --test tests/infra/` work on Node 22, whose test runner does not expand a directory
// argument: Node loads this index, which loads every test file of the folder into the same run.
// (`npm test` finds the *.test.ts files by glob and never loads this file.)
import { readdirSync } from "node:fs";

for (const file of readdirSync(import.meta.dirname).sort()) {
  if (file.endsWith(".test.ts")) await import(`./${file}`);
}
