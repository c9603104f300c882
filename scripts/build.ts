// `npm run build`: the deployable Function App folder `dist/api/`.
//
// esbuild bundles the Functions host (`api/src/hosts/functions.ts`) and everything it imports, including
// `@azure/functions`, into one ESM file. Only `@azure/functions-core` stays external: the Node.js worker
// provides it at run time by intercepting `require`. The folder then gets `host.json` and a package.json
// without dependencies, so the deployment needs no `npm install`.
//
// Code loaded with `import()` only when it is needed (the OpenTelemetry SDKs, see
// api/src/hosts/telemetry.ts) goes into chunks of its own beside main.js, so a cold start that does not
// need it does not read or parse it.
//
// `--outdir <dir>` writes the same folder elsewhere (tests build side by side without racing on dist/).
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDirArg = process.argv.indexOf("--outdir");
const outDir =
  outDirArg > 0 ? path.resolve(process.argv[outDirArg + 1] ?? "") : path.join(root, "dist", "api");
const outFile = path.join(outDir, "main.js");

// Bundled CommonJS code calls `require` (for Node built-ins and `@azure/functions-core`), which an ES
// module does not have; this gives it the real one.
const banner =
  'import { createRequire as __createRequire } from "node:module";const require = __createRequire(import.meta.url);';

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { main: "api/src/hosts/functions.ts" },
  outdir: outDir,
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  external: ["@azure/functions-core"],
  banner: { js: banner },
  minify: true,
  sourcemap: "linked",
  legalComments: "eof",
  metafile: true,
  logLevel: "warning",
});

const rootPackage = JSON.parse(await readFile(path.join(root, "package.json"), "utf8"));
await writeFile(
  path.join(outDir, "package.json"),
  `${JSON.stringify(
    {
      name: `${rootPackage.name}-api`,
      version: rootPackage.version,
      private: true,
      type: "module",
      main: "main.js",
      engines: { node: ">=22" },
      dependencies: {},
    },
    null,
    2,
  )}\n`,
);
await writeFile(path.join(outDir, "host.json"), await readFile(path.join(root, "api", "host.json")));

report(result.metafile);

function report(metafile: Metafile) {
  const output = metafile.outputs[path.relative(root, outFile).split(path.sep).join("/")];
  // Contributors across everything written, by package.
  const inputs: Record<string, { bytesInOutput: number }> = {};
  for (const [file, o] of Object.entries(metafile.outputs)) {
    if (!file.endsWith(".js")) continue;
    for (const [input, { bytesInOutput }] of Object.entries(o.inputs)) {
      inputs[input] = { bytesInOutput: (inputs[input]?.bytesInOutput ?? 0) + bytesInOutput };
    }
  }
  if (!output) throw new Error(`esbuild did not write ${outFile}`);
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
    const key = packageOf(input);
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
  }
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`${path.relative(root, outFile)}: ${output.bytes} bytes (${kib(output.bytes)})`);
  const total = Object.values(inputs).reduce((n, i) => n + i.bytesInOutput, 0);
  console.log("top contributors:");
  for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`  ${kib(bytes).padStart(10)}  ${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
  // What a cold start without telemetry loads: main.js, what it imports, and what it imports with
  // `import()` on the first request (the app), each with their static imports; the rest (the
  // OpenTelemetry SDKs) loads only when telemetry is configured.
  const outputs = metafile.outputs;
  const mainKey = path.relative(root, outFile).split(path.sep).join("/");
  const loaded = new Set<string>();
  const visit = (file: string, dynamicToo: boolean) => {
    if (loaded.has(file) || !outputs[file]) return;
    loaded.add(file);
    for (const i of outputs[file].imports) {
      if (i.kind === "import-statement") visit(i.path, false);
      else if (i.kind === "dynamic-import" && dynamicToo) visit(i.path, false);
    }
  };
  visit(mainKey, true);
  const js = Object.entries(outputs).filter(([file]) => file.endsWith(".js"));
  const startBytes = js.filter(([f]) => loaded.has(f)).reduce((n, [, o]) => n + o.bytes, 0);
  const laterBytes = js.filter(([f]) => !loaded.has(f)).reduce((n, [, o]) => n + o.bytes, 0);
  console.log(
    `loaded at start: ${startBytes} bytes (${kib(startBytes)}, main.js and ${loaded.size - 1} chunks)`,
  );
  console.log(`loaded only with telemetry: ${laterBytes} bytes (${kib(laterBytes)})`);
  console.log(
    `wrote ${path.relative(root, outDir)}/: main.js, chunks/, source maps, host.json, package.json`,
  );
}

/** `node_modules/@scope/name/…` → `@scope/name`; our own sources → their top folder under `api/src`. */
function packageOf(input: string): string {
  const parts = input.split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at >= 0) {
    const scoped = parts[at + 1]?.startsWith("@");
    return parts.slice(at + 1, at + (scoped ? 3 : 2)).join("/");
  }
  return parts.slice(0, 3).join("/");
}
