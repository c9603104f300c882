// `npm run -s token [user]`: signs a test user in against the running local stack (started by
// `npm start`) without a browser, and prints only an access token for the MCP server, for
// `--header "Authorization: Bearer $(npm run -s token)"`. In proxy mode the token is the server's own
// (the consent page and the emulator's sign-in are walked over HTTP); in Entra-direct mode it is an
// Entra token for the API, obtained as the emulator's pre-authorized public client.
import { existsSync, readFileSync } from "node:fs";
import { loginPublicClient } from "@entra-mcp/emulator/login";
import { loginThroughProxy } from "@entra-mcp/testing/proxy-login";
import { ROOT } from "@entra-mcp/testing/stack";
import { ensureTrustedCa } from "@entra-mcp/testing/trust";

await ensureTrustedCa();
const file = `${ROOT}.local/dev.json`;
if (!existsSync(file)) {
  console.error("Start the local stack first: npm start");
  process.exit(1);
}
const dev = JSON.parse(readFileSync(file, "utf8"));
const user = process.argv[2] ?? dev.users[0];
try {
  const tokens =
    dev.authMode === "entra"
      ? await loginPublicClient({ ...dev, clientId: dev.publicClientId, user })
      : await loginThroughProxy({ mcpUrl: dev.mcpUrl, user });
  process.stdout.write(`${tokens.access_token}\n`);
} catch (err) {
  console.error(`Could not sign ${user} in against ${dev.mcpUrl}: ${(err as Error).message}`);
  process.exit(1);
}
