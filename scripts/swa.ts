// `npm run swa`: the deployed shape on one machine. The Entra emulator, Azurite and the server start as
// for `npm start`; then the Static Web Apps CLI (`swa start`, configured by swa-cli.config.json and
// staticwebapp.config.json) serves the landing page from app/ with SWA's emulated sign-in (/.auth/*)
// and proxies /api to the server. MCP clients still talk to the server directly, as they talk to the
// Function App on Azure. Ctrl-C stops everything.
//
// The CLI is told where the API already runs (--api-devserver-url), so it never looks for or downloads
// Azure Functions Core Tools; its update check is switched off (NO_UPDATE_NOTIFIER).
//
// Environment: AUTH_MODE=entra, PORT (server, default 7071), SWA_PORT (default 4280), EMULATOR_PORT,
// AZURITE_DIR (default .local/azurite; "memory" keeps nothing). Taken ports fall back to free ones.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { freePort, ROOT, type Stack, startStack } from "@entra-mcp/testing/stack";
import { ensureTrustedCa } from "@entra-mcp/testing/trust";
import { waitForHttp } from "@entra-mcp/testing/wait";

await ensureTrustedCa();

const SWA_CLI = `${ROOT}node_modules/@azure/static-web-apps-cli/dist/cli/bin.js`;
const port = (name: string, fallback: number) => freePort(Number(process.env[name] ?? fallback));

const authMode = process.env.AUTH_MODE === "entra" ? "entra" : "proxy";
const azuriteDir = process.env.AZURITE_DIR ?? `${ROOT}.local/azurite`;
let stack: Stack | undefined;
let swa: ChildProcess | undefined;
let swaOutput = "";
let stopping = false;

async function stop(code = 0): Promise<never> {
  stopping = true;
  if (swa?.pid && swa.exitCode === null && swa.signalCode === null) {
    const gone = once(swa, "exit");
    // The CLI runs its proxy as a child of its own: end the whole process group it leads.
    process.kill(-swa.pid, "SIGTERM");
    const timer = setTimeout(() => swa?.pid && process.kill(-swa.pid, "SIGKILL"), 5000);
    await gone;
    clearTimeout(timer);
  }
  await stack?.stop();
  process.exit(code);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

try {
  stack = await startStack({
    authMode,
    serverPort: await port("PORT", 7071),
    emulatorPort: await port("EMULATOR_PORT", 7443),
    azuriteDir: azuriteDir === "memory" ? undefined : azuriteDir,
    env: { CIMD_ALLOW_LOOPBACK_HTTP: "true" },
    quiet: false,
  });
  const swaPort = await port("SWA_PORT", 4280);
  swa = spawn(
    process.execPath,
    [
      SWA_CLI,
      "start",
      "--api-devserver-url",
      stack.server.url,
      "--swa-config-location",
      ROOT,
      "--host",
      "127.0.0.1",
      "--port",
      String(swaPort),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, NO_UPDATE_NOTIFIER: "1", SWA_CLI_OPEN_BROWSER: "false" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  const collect = (chunk: Buffer) => {
    swaOutput += chunk.toString();
    if (swaOutput.length > 200_000) swaOutput = swaOutput.slice(-100_000);
  };
  swa.stdout?.on("data", collect);
  swa.stderr?.on("data", collect);
  swa.once("exit", (code) => {
    if (stopping) return;
    console.error(`swa start exited (code ${code}):\n${swaOutput}`);
    void stop(1);
  });
  const swaUrl = `http://127.0.0.1:${swaPort}`;
  await waitForHttp(`${swaUrl}/`, 90_000, () => swa?.exitCode === null);
  const { emulator, server } = stack;
  console.log(`
  Landing page (SWA)  ${swaUrl}/
  MCP server          ${server.mcpUrl}   (${authMode} mode; /api is also proxied at ${swaUrl}/api)
  Entra emulator      ${emulator.issuer}
  Test users          ${emulator.users.map((u) => u.upn).join(", ")}

  Sign in on the page with the Static Web Apps emulator's login (any user name).
  Ctrl-C stops everything.
`);
} catch (err) {
  console.error((err as Error).message);
  if (swaOutput) console.error(swaOutput);
  await stop(1);
}
