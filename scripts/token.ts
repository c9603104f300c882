// `npm run -s token [user]`: signs a test user in to the running local emulator (started by `npm start`)
// and prints only an access token for the MCP server, for `--header "Authorization: Bearer $(…)"`.
import { existsSync, readFileSync } from "node:fs";
import { loginPublicClient } from "./lib/entra-login.ts";
import { ROOT } from "./lib/stack.ts";
import { ensureTrustedCa } from "./lib/trust.ts";

await ensureTrustedCa();
const file = `${ROOT}.local/dev.json`;
if (!existsSync(file)) {
  console.error("Start the local stack first: npm start");
  process.exit(1);
}
const dev = JSON.parse(readFileSync(file, "utf8"));
const user = process.argv[2] ?? dev.users[0];
try {
  const tokens = await loginPublicClient({ ...dev, clientId: dev.publicClientId, user });
  process.stdout.write(`${tokens.access_token}\n`);
} catch (err) {
  console.error(`Could not get a token from the emulator at ${dev.authorityHost}: ${(err as Error).message}`);
  process.exit(1);
}
