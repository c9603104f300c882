// node emulator/cli.ts [--port N] [--graph-port N] [--identity-port N] [--browser-port N] [--ca-dir DIR]
//                      [--fault <target>=<answer>[,times=N][,retry-after=S]]... [--app-role <upn>=<role>]...
// Starts the emulator, prints its addresses and the server's environment as `export` lines.
import { parseArgs } from "node:util";
import { parseFaultFlag, start } from "./index.ts";

const USAGE = `usage: node emulator/cli.ts [--port N] [--graph-port N] [--identity-port N] [--browser-port N]
                           [--ca-dir DIR] [--fault <target>=<answer>[,times=N][,retry-after=S]]...
                           [--app-role <upn>=<role>]...

  --app-role  assign one of the API app's app roles to a user (repeatable), e.g.
            --app-role AlexW@contoso.onmicrosoft.com=MCP.Admin

  --fault   make an endpoint fail, from the start (repeatable; see emulator/README.md, "Fault controls"):
            target  token | token.authorization_code | token.refresh_token | token.obo |
                    token.client_credentials | discovery | jwks | authorize | mi |
                    graph | graph.me | graph.photo | graph.messages | graph.calendarView | graph.people | graph:/<path>
            answer  a 5xx status (500, 502, 503, 504...) | 429 | hang | reset
            e.g.    --fault token.obo=503  --fault token.refresh_token=429,retry-after=5,times=2
                    --fault graph=hang     --fault mi=reset,times=1
            Add, list and clear faults while it runs at the admin URL it prints.`;

let values: ReturnType<typeof parse>["values"];
function parse() {
  return parseArgs({
    options: {
      port: { type: "string" },
      "graph-port": { type: "string" },
      "identity-port": { type: "string" },
      "browser-port": { type: "string" },
      "ca-dir": { type: "string" },
      fault: { type: "string", multiple: true },
      "app-role": { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
}
let faults: ReturnType<typeof parseFaultFlag>[];
try {
  values = parse().values;
  faults = (values.fault ?? []).map(parseFaultFlag);
} catch (err) {
  console.error(`${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const num = (v: string | undefined) => (v === undefined ? undefined : Number.parseInt(v, 10));
const em = await start({
  port: num(values.port),
  graphPort: num(values["graph-port"]),
  identityPort: num(values["identity-port"]),
  browserPort: num(values["browser-port"]),
  caDir: values["ca-dir"],
});
for (const f of faults) em.faults.add(f);
for (const flag of values["app-role"] ?? []) {
  const [user, role] = flag.split("=");
  try {
    em.assignAppRole(user ?? "", role ?? "");
  } catch (err) {
    console.error(`--app-role ${flag}: ${(err as Error).message}`);
    await em.stop();
    process.exit(2);
  }
  console.log(`# App role               ${role} assigned to ${user}`);
}

const quote = (v: string) => `'${v.replace(/'/g, "'\\''")}'`;
console.log(`# Entra ID emulator      ${em.authorityHost}  (issuer ${em.issuer})`);
console.log(`# Sign-in pages          ${em.browserAuthorityHost}  (plain HTTP: what a browser opens)`);
console.log(`# Microsoft Graph        ${em.graphBaseUrl}`);
console.log(`# Managed identity       ${em.identityEndpoint}`);
console.log(`# Fault admin            ${em.adminUrl}`);
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
for (const f of em.faults.list()) {
  const extra = [
    f.remaining === null ? "until cleared" : `${f.remaining} time(s)`,
    ...(f.retryAfter !== undefined ? [`Retry-After ${f.retryAfter}`] : []),
  ];
  console.log(`# Fault                  ${f.target} → ${f.answer} (${extra.join(", ")}) id ${f.id}`);
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
