/**
 * Starts Azurite, the Azure Storage emulator, for tests and `npm start`.
 *
 * Azurite comes from npm (`azurite`, pinned in devDependencies), not from Docker or a global install,
 * and runs under the same Node 22 as the caller. All three services (blob, queue, table) start, on
 * ports the OS picks (`0`) unless given, so parallel test files never collide; the real ports are read
 * from Azurite's startup lines. Without `dir` everything is in memory and vanishes on `stop()`; with
 * `dir` (e.g. `.local/azurite`) data persists across restarts.
 *
 * ```ts
 * import { startAzurite } from "@entra-mcp/testing/azurite";
 * const azurite = await startAzurite();
 * // … new TableStore(azuriteTableClient(azurite.tableEndpoint, "t1")) …
 * await azurite.stop();
 * ```
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface AzuriteOptions {
  /** Persist data here (created if missing). In memory when omitted. */
  dir?: string;
  /** Fixed ports; `0` (the default) lets the OS pick a free one. */
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  /** How long to wait for Azurite to answer, in ms (default 20 s). */
  timeoutMs?: number;
}

export interface Azurite {
  /** `http://127.0.0.1:<tablePort>/devstoreaccount1`: what `STORAGE_TABLE_ENDPOINT` takes. */
  tableEndpoint: string;
  tablePort: number;
  blobPort: number;
  queuePort: number;
  /** Stops Azurite and resolves once the process is gone. */
  stop(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections are accepted and never answered, as a hung service does. */
  pause(): void;
  /** Lets a paused Azurite run again (SIGCONT). */
  resume(): void;
}

// Runs Azurite's CLI in a child that also watches its parent: if the caller is killed outright (a test
// runner's timeout, a SIGKILL), no `exit` hook runs, and Azurite would otherwise live on, holding ports.
const WATCHDOG = `
const [script, ...args] = process.argv.slice(1);
process.argv = [process.argv[0], script, ...args];
const parent = process.ppid;
setInterval(() => {
  try { process.kill(parent, 0); } catch { process.kill(process.pid, "SIGTERM"); }
}, 1000).unref();
require(script);
`;

const LISTENING =
  /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/127\.0\.0\.1:(\d+)/;

/** Resolves once all three services answer HTTP. Rejects with Azurite's output if it fails to start. */
export async function startAzurite(opts: AzuriteOptions = {}): Promise<Azurite> {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve("azurite/package.json");
  const bin = (require(pkgPath) as { bin: Record<string, string> }).bin.azurite;
  const args = [
    "-e",
    WATCHDOG,
    join(dirname(pkgPath), bin),
    "--blobHost",
    "127.0.0.1",
    "--queueHost",
    "127.0.0.1",
    "--tableHost",
    "127.0.0.1",
    "--blobPort",
    String(opts.blobPort ?? 0),
    "--queuePort",
    String(opts.queuePort ?? 0),
    "--tablePort",
    String(opts.tablePort ?? 0),
    // The SDKs may speak a newer service version than this Azurite knows; the subset we use is stable.
    "--skipApiVersionCheck",
    "--loose",
    "--silent",
    "--disableTelemetry",
  ];
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true });
    args.push("--location", opts.dir);
  } else {
    // Otherwise Azurite reserves half the machine's memory for blob extents.
    args.push("--inMemoryPersistence", "--extentMemoryLimit", "256");
  }

  const child = spawn(process.execPath, args, {
    cwd: opts.dir ?? process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  // If the caller dies without stopping it, don't leave Azurite behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  let output = "";
  const ports: Partial<Record<"Blob" | "Queue" | "Table", number>> = {};
  const stop = () => stopChild(child, killOnExit);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Azurite did not start within ${opts.timeoutMs ?? 20_000} ms:\n${output}`)),
        opts.timeoutMs ?? 20_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        for (const line of output.split("\n")) {
          const m = LISTENING.exec(line);
          if (m) ports[m[1] as "Blob" | "Queue" | "Table"] = Number(m[2]);
        }
        if (ports.Blob && ports.Queue && ports.Table) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Azurite exited (${signal ?? code}) before it was ready:\n${output}`));
      });
    });
    for (const port of [ports.Blob, ports.Queue, ports.Table]) await waitForHttp(port!);
  } catch (err) {
    await stop();
    throw err;
  }
  // Keep draining its pipes so a chatty Azurite never blocks on a full buffer.
  child.stdout!.resume();
  child.stderr!.resume();

  return {
    tableEndpoint: `http://127.0.0.1:${ports.Table}/devstoreaccount1`,
    tablePort: ports.Table!,
    blobPort: ports.Blob!,
    queuePort: ports.Queue!,
    stop: () => {
      child.kill("SIGCONT");
      return stop();
    },
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
  };
}

/** Any HTTP answer (Azurite says 400/403 to an unsigned request) means the service is up. */
async function waitForHttp(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/devstoreaccount1`, {
        signal: AbortSignal.timeout(2000),
      });
      await res.body?.cancel();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Azurite on port ${port} does not answer`, { cause: err });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function stopChild(child: ChildProcess, killOnExit: () => void): Promise<void> {
  process.removeListener("exit", killOnExit);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
