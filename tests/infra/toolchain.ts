/**
 * The real Bicep compiler for the infra tests.
 *
 * `bicep()` finds the Bicep CLI: on PATH, then where azd and the Azure CLI install it (`~/.azd/bin`,
 * `~/.azure/bin`), then the copy restored earlier into `.cache/bicep/`, else it restores the NuGet
 * package `Azure.Bicep.CommandLine.<rid>` with dotnet (tests/infra/bicep-cli/bicep-cli.csproj). With
 * neither bicep nor dotnet it returns the reason, and the compiler tests skip with it.
 *
 * The Microsoft Graph extension is built from its type data (tests/infra/graph-extension/) with
 * `bicep publish-extension`, and every command runs with `--config tests/infra/bicepconfig.json`,
 * which points at that file: nothing is pulled from a registry.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const infraDir = join(repoRoot, "infra");
export const mainBicep = join(infraDir, "main.bicep");
/** The test-only Bicep configuration (the Graph extension from a local file). */
export const testBicepConfig = join(import.meta.dirname, "bicepconfig.json");

/** The version restored with dotnet when no Bicep CLI is installed. */
export const BICEP_VERSION = "0.49.2";
const cacheDir = join(repoRoot, ".cache", "bicep");
const graphExtensionDir = join(import.meta.dirname, "graph-extension");
/** Where tests/infra/bicepconfig.json expects the extension built from graph-extension/. */
const graphExtensionFile = join(cacheDir, "microsoftgraph-v1.0.tgz");

export interface BicepCli {
  path: string;
  version: string;
  /** Where it came from, for messages. */
  source: string;
}

export type Toolchain = { bicep: BicepCli; reason?: undefined } | { bicep?: undefined; reason: string };

const exe = process.platform === "win32" ? "bicep.exe" : "bicep";

function version(path: string): string | undefined {
  const r = spawnSync(path, ["--version"], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) return undefined;
  return /Bicep CLI version (\S+)/.exec(r.stdout)?.[1];
}

/** The .NET runtime identifier of this machine, as the Bicep NuGet packages are named. */
function rid(): string | undefined {
  const os = { linux: "linux", darwin: "osx", win32: "win" }[process.platform as string];
  const arch = { x64: "x64", arm64: "arm64" }[process.arch as string];
  return os && arch ? `${os}-${arch}` : undefined;
}

function restoredPath(r: string): string {
  return join(cacheDir, "packages", `azure.bicep.commandline.${r}`, BICEP_VERSION, "tools", exe);
}

/** `dotnet restore` of the tiny project: the Bicep CLI package into .cache/bicep/packages. */
function restoreWithDotnet(r: string): { path?: string; reason?: string } {
  const dotnet = spawnSync("dotnet", ["--version"], { encoding: "utf8", timeout: 60_000 });
  if (dotnet.error || dotnet.status !== 0) {
    return { reason: "the .NET SDK (dotnet) is not installed either, so it cannot be restored from NuGet" };
  }
  // One intermediate folder per process: test files run in parallel processes.
  const obj = join(cacheDir, `obj-${process.pid}`);
  const res = spawnSync(
    "dotnet",
    [
      "restore",
      join(import.meta.dirname, "bicep-cli", "bicep-cli.csproj"),
      "--packages",
      join(cacheDir, "packages"),
      `-p:BicepRid=${r}`,
      `-p:BicepVersion=${BICEP_VERSION}`,
      `-p:MSBuildProjectExtensionsPath=${obj}/`,
      "--nologo",
    ],
    {
      encoding: "utf8",
      timeout: 300_000,
      env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1" },
    },
  );
  rmSync(obj, { recursive: true, force: true });
  const path = restoredPath(r);
  if (res.status !== 0 || !existsSync(path)) {
    const out = `${res.stdout ?? ""}${res.stderr ?? ""}`.trim().split("\n").slice(-5).join("\n");
    return { reason: `dotnet restore of Azure.Bicep.CommandLine.${r} ${BICEP_VERSION} failed:\n${out}` };
  }
  return { path };
}

let found: Toolchain | undefined;

/**
 * Runs `fn` holding a lock shared by the test processes (a directory, created atomically): the first
 * dotnet restore and the first use of the Graph extension, which Bicep copies into its own cache, race
 * when two test files start at once.
 */
function withLock<T>(fn: () => T): T {
  mkdirSync(cacheDir, { recursive: true });
  const lock = join(cacheDir, "lock");
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // A lock left by a killed run is stale after ten minutes.
      if (Date.now() > deadline || statSync(lock).mtimeMs < Date.now() - 600_000) {
        rmSync(lock, { recursive: true, force: true });
      } else {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      }
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The Bicep CLI to test with, or why there is none. Looked up once per process. */
export function bicep(): Toolchain {
  found ??= withLock(lookUp);
  return found;
}

function lookUp(): Toolchain {
  const candidates: Array<[string, string]> = [
    [exe, "PATH"],
    [join(homedir(), ".azd", "bin", exe), "azd's install folder"],
    [join(homedir(), ".azure", "bin", exe), "the Azure CLI's install folder"],
  ];
  const r = rid();
  if (r) candidates.push([restoredPath(r), `.cache/bicep (NuGet ${BICEP_VERSION})`]);
  for (const [path, source] of candidates) {
    const v = version(path);
    if (v) return { bicep: { path, version: v, source } };
  }
  const none = "no Bicep CLI found (PATH, ~/.azd/bin, ~/.azure/bin)";
  if (!r) return { reason: `${none}, and no NuGet package exists for ${process.platform}-${process.arch}` };
  mkdirSync(cacheDir, { recursive: true });
  const restored = restoreWithDotnet(r);
  const v = restored.path ? version(restored.path) : undefined;
  if (restored.path && v) {
    return { bicep: { path: restored.path, version: v, source: `NuGet ${BICEP_VERSION} (restored now)` } };
  }
  return { reason: `${none}, and ${restored.reason ?? "the restored one does not run"}` };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cli: BicepCli, args: string[], cwd = repoRoot): Run {
  const r = spawnSync(cli.path, args, { cwd, encoding: "utf8", timeout: 180_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let extensionReady = false;

/**
 * Builds the Graph extension from its type data when it is missing or older, and has Bicep restore it
 * into its cache with one build of main.bicep, under the lock; once per process.
 */
export function graphExtension(cli: BicepCli): string {
  if (!extensionReady) {
    withLock(() => {
      publishGraphExtension(cli);
      run(cli, ["build", mainBicep, "--config", testBicepConfig, "--stdout"]);
    });
    extensionReady = true;
  }
  return graphExtensionFile;
}

function publishGraphExtension(cli: BicepCli): string {
  const sources = ["index.json", "types.json"].map((f) => statSync(join(graphExtensionDir, f)).mtimeMs);
  if (existsSync(graphExtensionFile) && statSync(graphExtensionFile).mtimeMs >= Math.max(...sources)) {
    return graphExtensionFile;
  }
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${graphExtensionFile}.${process.pid}`;
  const r = run(cli, [
    "publish-extension",
    join(graphExtensionDir, "index.json"),
    "--target",
    partial,
    "--force",
  ]);
  if (r.status !== 0) throw new Error(`bicep publish-extension failed:\n${r.stdout}${r.stderr}`);
  renameSync(partial, graphExtensionFile);
  return graphExtensionFile;
}

/** Diagnostics as `path(line,col) : Level CODE: message` lines, paths relative to the repository. */
export function diagnostics(r: Run): string[] {
  return `${r.stdout}\n${r.stderr}`
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /\(\d+,\d+\) : (Error|Warning|Info)/.test(l))
    .map((l) =>
      l.replace(/^(.+?)(\(\d+,\d+\))/, (_, p: string, pos: string) => `${relative(repoRoot, p)}${pos}`),
    );
}

/** `bicep build` of a file to ARM JSON, with the test configuration. */
export function build(cli: BicepCli, file = mainBicep): { run: Run; template: ArmTemplate | undefined } {
  graphExtension(cli);
  const out = mkdtempSync(join(tmpdir(), "bicep-build-"));
  try {
    const target = join(out, "main.json");
    const r = run(cli, ["build", file, "--config", testBicepConfig, "--outfile", target]);
    const template = existsSync(target)
      ? (JSON.parse(readFileSync(target, "utf8")) as ArmTemplate)
      : undefined;
    return { run: r, template };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** `bicep lint` with the test configuration. */
export function lint(cli: BicepCli, file = mainBicep): Run {
  graphExtension(cli);
  return run(cli, ["lint", file, "--config", testBicepConfig]);
}

export interface ArmTemplate {
  $schema: string;
  parameters: Record<string, { type: string; defaultValue?: unknown; allowedValues?: unknown[] }>;
  variables?: Record<string, unknown>;
  resources: unknown;
  outputs: Record<string, { type: string; value: unknown }>;
}

/** One resource of a snapshot, as the deployment would create it. */
export interface PredictedResource {
  type: string;
  name?: string;
  id?: string;
  apiVersion?: string;
  location?: string;
  kind?: string;
  tags?: Record<string, string>;
  sku?: Record<string, unknown>;
  identity?: { type: string; userAssignedIdentities?: Record<string, unknown> };
  // biome-ignore lint/suspicious/noExplicitAny: resource properties as the snapshot gives them; tests assert their shape.
  properties?: Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: the rest of an ARM resource body, as the snapshot gives it.
  [key: string]: any;
}

export interface Snapshot {
  predictedResources: PredictedResource[];
  outputs: Record<string, unknown>;
  diagnostics: unknown[];
}

export const TEST_TENANT = "72f988bf-0000-4000-8000-000000000001";
export const TEST_SUBSCRIPTION = "0b1f6471-0000-4000-8000-000000000002";
export const TEST_DEPLOYER = "5c4d3e2f-0000-4000-8000-000000000003";

/**
 * `bicep snapshot`: evaluates main.bicep for these parameter values (a .bicepparam written next to a
 * temporary copy's path, since `using` takes a relative path) and returns the resources the deployment
 * would create, with every expression the compiler can resolve before deployment resolved.
 */
export function snapshot(cli: BicepCli, params: Record<string, unknown>): Snapshot {
  graphExtension(cli);
  const dir = mkdtempSync(join(tmpdir(), "bicep-snapshot-"));
  try {
    const using = relative(dir, mainBicep).replaceAll("\\", "/");
    const lines = [
      `using '${using}'`,
      ...Object.entries(params).map(([k, v]) => `param ${k} = ${bicepValue(v)}`),
    ];
    const paramFile = join(dir, "deployment.bicepparam");
    writeFileSync(paramFile, `${lines.join("\n")}\n`);
    const r = run(cli, [
      "snapshot",
      paramFile,
      "--config",
      testBicepConfig,
      "--tenant-id",
      TEST_TENANT,
      "--subscription-id",
      TEST_SUBSCRIPTION,
      "--location",
      String(params.location ?? "eastus2"),
      "--deployment-name",
      "azd-test",
    ]);
    const out = join(dir, "deployment.snapshot.json");
    if (r.status !== 0 || !existsSync(out)) {
      throw new Error(`bicep snapshot failed (${r.status}):\n${r.stdout}${r.stderr}\n${lines.join("\n")}`);
    }
    return JSON.parse(readFileSync(out, "utf8")) as Snapshot;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A JSON value written as a Bicep literal. */
function bicepValue(v: unknown): string {
  if (typeof v === "string")
    return `'${v.replaceAll("\\", "\\\\").replaceAll("'", "\\'").replaceAll("${", "\\${")}'`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return `[\n${v.map(bicepValue).join("\n")}\n]`;
  if (typeof v === "object") {
    return `{\n${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `'${k}': ${bicepValue(x)}`)
      .join("\n")}\n}`;
  }
  throw new Error(`cannot write ${typeof v} as Bicep`);
}
