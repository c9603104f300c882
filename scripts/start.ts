// `npm start`: the offline stack on one command. The Entra emulator (Entra ID, the managed-identity
// endpoint and Microsoft Graph) starts in this process, Azurite holds the proxy's state in
// `.local/azurite`, and the server runs as a child on Node 22 trusting the emulator's CA.
// AUTH_MODE=entra npm start runs Entra-direct mode instead. Ctrl-C stops everything.
import { mkdirSync, writeFileSync } from "node:fs";
import { freePort, ROOT, startStack } from "@entra-mcp/testing/stack";
import { ensureTrustedCa } from "@entra-mcp/testing/trust";

await ensureTrustedCa();

const authMode = process.env.AUTH_MODE === "entra" ? "entra" : "proxy";
let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack({
    authMode,
    serverPort: await freePort(Number(process.env.PORT ?? 7071)),
    emulatorPort: await freePort(Number(process.env.EMULATOR_PORT ?? 7443)),
    azuriteDir: `${ROOT}.local/azurite`,
    // Lets the MCP Inspector and tests use client ID metadata documents served on this machine.
    env: { CIMD_ALLOW_LOOPBACK_HTTP: "true" },
    quiet: false,
  });
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
const { emulator, server } = stack;

// What `npm run token` needs to sign in against this emulator (Entra-direct mode).
mkdirSync(`${ROOT}.local`, { recursive: true });
writeFileSync(
  `${ROOT}.local/dev.json`,
  JSON.stringify(
    {
      mcpUrl: server.mcpUrl,
      authMode,
      authorityHost: emulator.authorityHost,
      tenantId: emulator.tenantId,
      publicClientId: emulator.publicClient.clientId,
      scope: `${emulator.apiApp.appIdUri}/${emulator.apiApp.scope}`,
      users: emulator.users.map((u) => u.upn),
    },
    null,
    2,
  ),
);

const users = emulator.users.map((u) => `${u.upn}${u.consented ? "" : " (has not consented to Graph)"}`);
const proof = `  Prove it works (signs the first test user in without a browser, then calls Graph On-Behalf-Of them):

    npx mcp-inspector --cli ${server.mcpUrl} --transport http \\
      --header "Authorization: Bearer $(npm run -s token)" \\
      --method tools/call --tool-name get_graph_user_details
${
  authMode === "proxy"
    ? `
  Or let the Inspector do the OAuth dance itself (a browser opens: approve, then pick a test user
  on the emulator's sign-in page, ${emulator.browserAuthorityHost}/, plain HTTP on loopback, so no
  certificate warning):

    npx mcp-inspector --cli ${server.mcpUrl} --transport http \\
      --method tools/call --tool-name get_graph_user_details

  The landing page with every client's recipe: ${server.url}/`
    : ""
}`;

console.log(`
  Landing page     ${server.url}/   (how to connect each MCP client)
  MCP server       ${server.mcpUrl}   (${authMode} mode)
  Entra emulator   ${emulator.issuer}
  Sign-in pages    ${emulator.browserAuthorityHost}/${emulator.tenantId}/oauth2/v2.0/authorize   (what the browser opens)
  Graph emulator   ${emulator.graphBaseUrl}
  Test users       ${users.join(", ")}

${proof}

  Ctrl-C stops everything.
`);

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(code);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
server.child.once("exit", (code) => {
  if (!stopping) {
    console.error(`The server exited (code ${code}).`);
    void stop(1);
  }
});
