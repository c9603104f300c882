/**
 * `npm start` as a new user meets it: the banner appears, the command it prints works as pasted
 * (a token from `npm run token`, then the MCP Inspector CLI calling get_graph_user_details), and Ctrl-C
 * stops everything.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { freePort, ROOT } from "@entra-mcp/testing/stack";

const BIN = `${ROOT}node_modules/.bin`;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function startBanner(child: ChildProcess): Promise<string> {
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 60 s:\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ctrl-C stops everything")) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`npm start exited (${code}) before its banner:\n${out}`)));
  });
}

for (const authMode of ["proxy", "entra"] as const) {
  describe(`npm start (${authMode} mode)`, () => {
    it("prints a command that works as pasted, and Ctrl-C stops everything", async () => {
      const port = await freePort();
      const emulatorPort = await freePort();
      const start = spawn(process.execPath, ["scripts/start.ts"], {
        cwd: ROOT,
        env: { ...process.env, PORT: String(port), EMULATOR_PORT: String(emulatorPort), AUTH_MODE: authMode },
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        const banner = await startBanner(start);
        const mcpUrl = `http://127.0.0.1:${port}/api/mcp`;
        assert.match(
          banner,
          new RegExp(`MCP server\\s+${mcpUrl.replace(/[.]/g, "\\.")}\\s+\\(${authMode} mode\\)`),
        );
        assert.match(banner, /Entra emulator\s+https:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]{36}\/v2\.0/);
        assert.ok(banner.includes(`npx mcp-inspector --cli ${mcpUrl} --transport http`), banner);
        assert.ok(banner.includes('--header "Authorization: Bearer $(npm run -s token)"'), banner);

        // The command as printed, through a shell, from the repository like a user would.
        const shell = await run(
          "sh",
          [
            "-c",
            `npx mcp-inspector --cli ${mcpUrl} --transport http --header "Authorization: Bearer $(npm run -s token)" --method tools/call --tool-name get_graph_user_details`,
          ],
          { PATH: `${BIN}:${process.env.PATH}` },
        );
        assert.equal(shell.code, 0, shell.stderr);
        const result = JSON.parse(shell.stdout);
        assert.equal(result.structuredContent.displayName, "Adele Vance");
        assert.equal(result.structuredContent.success, true);
      } finally {
        const exited = once(start, "exit");
        start.kill("SIGINT");
        const [code] = await exited;
        assert.equal(code, 0, "npm start exits cleanly on Ctrl-C");
      }
      // Nothing is left listening on the server's port.
      await assert.rejects(
        fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(2000) }),
      );
    });
  });
}
