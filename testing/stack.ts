/**
 * Starts the local stack the same way for `npm start`, the tests and the benchmarks: the Entra
 * emulator in this process, and the server as a child process on Node 22 that trusts the emulator's CA
 * through `NODE_EXTRA_CA_CERTS` (read by Node only at process start).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { type Emulator, start as startEmulator } from "@entra-mcp/emulator";
import { type Azurite, startAzurite } from "./azurite.ts";
import { waitForHttp } from "./wait.ts";

/** The repository's root folder, with a trailing slash. */
export const ROOT = fileURLToPath(new URL("../", import.meta.url));

export async function freePort(preferred = 0): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(port, "127.0.0.1", () => {
        const { port: p } = srv.address() as { port: number };
        srv.close(() => resolve(p));
      });
    });
  if (preferred) {
    try {
      return await tryPort(preferred);
    } catch {
      // taken: fall back to any free port
    }
  }
  return tryPort(0);
}

/** `process.env` without `undefined` values, for child process environments. */
export function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

export interface ServerProcess {
  url: string;
  mcpUrl: string;
  port: number;
  child: ChildProcess;
  /** Everything the server printed, for assertions and for failure reports. */
  output: () => string;
  stop: () => Promise<void>;
}

/** Spawns `api/src/hosts/node.ts` with the given environment and waits until it answers. */
export async function startServer(
  env: Record<string, string>,
  opts: { port?: number; quiet?: boolean } = {},
): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const url = env.PUBLIC_URL ?? `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [`${ROOT}api/src/hosts/node.ts`], {
    cwd: ROOT,
    env: { ...process.env, PUBLIC_URL: url, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const collect = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 1_000_000) out = out.slice(-500_000);
    if (!opts.quiet) process.stderr.write(chunk);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/api/health`, 20_000, () => !exited);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n--- server output ---\n${out}`);
  }
  return {
    url,
    mcpUrl: `${url}/api/mcp`,
    port,
    child,
    output: () => out,
    async stop() {
      if (exited) return;
      const gone = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

export interface Stack {
  emulator: Emulator;
  server: ServerProcess;
  /** Present in proxy mode: the Table Storage the server keeps its state in. */
  azurite?: Azurite;
  /** The environment the server was started with (to start a second server on the same state). */
  env: Record<string, string>;
  stop: () => Promise<void>;
}

export interface StackOptions {
  /** `proxy` (default) or `entra`. */
  authMode?: "proxy" | "entra";
  env?: Record<string, string>;
  serverPort?: number;
  emulatorPort?: number;
  /**
   * The public URL when the server is reached through a front end (`balancer.ts`) rather than at its
   * own port (default: `http://127.0.0.1:<server port>`).
   */
  publicUrl?: string;
  /** Keep Azurite's data in this folder across runs (default: in memory). */
  azuriteDir?: string;
  quiet?: boolean;
}

/** The emulator, Azurite in proxy mode, and one server using them. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const authMode = opts.authMode ?? "proxy";
  const started: Array<{ stop: () => Promise<void> }> = [];
  const stopAll = async () => {
    for (const s of [...started].reverse()) await s.stop().catch(() => {});
  };
  try {
    const emulator = await startEmulator({ port: opts.emulatorPort ?? 0 });
    started.push(emulator);
    const azurite = authMode === "proxy" ? await startAzurite({ dir: opts.azuriteDir }) : undefined;
    if (azurite) started.push(azurite);
    const port = opts.serverPort ?? (await freePort());
    const publicUrl = opts.publicUrl ?? `http://127.0.0.1:${port}`;
    emulator.apiApp.addRedirectUri(`${publicUrl}/oauth/callback`);
    emulator.apiApp.addRedirectUri(`${publicUrl}/oauth/consent-complete`);
    emulator.apiApp.addRedirectUri(`${publicUrl}/connected-apps/callback`);
    const env: Record<string, string> = {
      ...emulator.serverEnv(),
      PUBLIC_URL: publicUrl,
      AUTH_MODE: authMode,
      ...(azurite ? { STORAGE_TABLE_ENDPOINT: azurite.tableEndpoint } : {}),
      ...opts.env,
    };
    const server = await startServer(env, { port, quiet: opts.quiet ?? true });
    started.push(server);
    return { emulator, server, azurite, env, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
