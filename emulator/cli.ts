// node emulator/cli.ts [--port N] [--graph-port N] [--identity-port N] [--ca-dir DIR]
// Starts the emulator, prints its addresses and the server's environment as `export` lines.
import { parseArgs } from "node:util";
import { start } from "./index.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "graph-port": { type: "string" },
    "identity-port": { type: "string" },
    "ca-dir": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  console.log("usage: node emulator/cli.ts [--port N] [--graph-port N] [--identity-port N] [--ca-dir DIR]");
  process.exit(0);
}

const num = (v: string | undefined) => (v === undefined ? undefined : Number.parseInt(v, 10));
const em = await start({
  port: num(values.port),
  graphPort: num(values["graph-port"]),
  identityPort: num(values["identity-port"]),
  caDir: values["ca-dir"],
});

const quote = (v: string) => `'${v.replace(/'/g, "'\\''")}'`;
console.log(`# Entra ID emulator      ${em.authorityHost}  (issuer ${em.issuer})`);
console.log(`# Microsoft Graph        ${em.graphBaseUrl}`);
console.log(`# Managed identity       ${em.identityEndpoint}`);
console.log(`# CA certificate         ${em.caPath}`);
console.log(`# API app                ${em.apiApp.clientId} (${em.apiApp.appIdUri}/${em.apiApp.scope})`);
console.log(
  `# Public client          ${em.publicClient.clientId} (redirects: ${em.publicClient.redirectUris.join(", ")})`,
);
for (const u of em.users) {
  console.log(
    `# User                   ${u.upn} (${u.displayName}${u.consented ? ", consented to Graph" : ""})`,
  );
}
for (const [k, v] of Object.entries(em.serverEnv())) console.log(`export ${k}=${quote(v)}`);
console.log("# Ctrl-C to stop.");

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await em.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
