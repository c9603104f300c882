// azd postprovision hook: hands the API's URL to the landing page.
//
// azd runs hooks with the environment's values (the Bicep outputs of infra/main.bicep) as environment
// variables. This writes app/config.json, which the landing page reads at run time and which `azd deploy`
// then publishes with the rest of app/. Nothing written here is a secret.
// `--out <file>` writes elsewhere (the infra tests use it).
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const env = process.env;

/** @param {string} name */
function required(name) {
  const value = env[name]?.trim();
  if (!value) {
    console.error(`postprovision: ${name} is not set; run this hook through azd after provisioning.`);
    process.exit(1);
  }
  return value;
}

const apiBaseUrl = required("API_BASE_URL").replace(/\/+$/, "");
if (!/^https:\/\/[^/?#]+$/.test(apiBaseUrl)) {
  console.error(`postprovision: API_BASE_URL must be an https origin, got "${apiBaseUrl}"`);
  process.exit(1);
}

const config = {
  apiBaseUrl,
  mcpEndpoint: env.MCP_ENDPOINT?.trim() || `${apiBaseUrl}/api/mcp`,
  authMode: env.AUTH_MODE?.trim() || "proxy",
};

const outFlag = process.argv.indexOf("--out");
const target =
  outFlag > 0 && process.argv[outFlag + 1] ? process.argv[outFlag + 1] : join(root, "app", "config.json");
writeFileSync(target, `${JSON.stringify(config, null, 2)}\n`);
console.log(`postprovision: wrote ${target}`);
console.log(`  MCP endpoint: ${config.mcpEndpoint}`);
if (env.LANDING_PAGE_URL) console.log(`  Landing page: ${env.LANDING_PAGE_URL}`);
