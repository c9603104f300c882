// `npm run permissions`: the delegated Microsoft Graph permissions the tools declare, which tool needs
// which, and what the app registration asks for. `-- --write` regenerates the Bicep input
// (infra/app/graph-permissions.json) from the declarations; `-- --check` fails when it is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { GRAPH_PERMISSIONS } from "../api/src/config/graph-permissions.ts";
import {
  appRegistrationPermissions,
  appRegistrationPermissionsJson,
  graphPermissionsOf,
} from "../api/src/mcp/permissions.ts";
import { tools } from "../api/src/mcp/tools/index.ts";

export const BICEP_PERMISSIONS_FILE = new URL("../infra/app/graph-permissions.json", import.meta.url);

/** The file's content, generated from the tools' declarations. */
export function bicepPermissionsJson(): string {
  return appRegistrationPermissionsJson(graphPermissionsOf(tools));
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const expected = bicepPermissionsJson();
  if (args.includes("--write")) {
    writeFileSync(BICEP_PERMISSIONS_FILE, expected);
    console.log(`wrote ${BICEP_PERMISSIONS_FILE.pathname}`);
  } else if (args.includes("--check")) {
    if (readFileSync(BICEP_PERMISSIONS_FILE, "utf8") !== expected) {
      console.error("infra/app/graph-permissions.json is stale: run npm run permissions -- --write");
      process.exit(1);
    }
  } else {
    console.log("Delegated Microsoft Graph permissions the tools declare:\n");
    for (const name of graphPermissionsOf(tools)) {
      const users = tools.filter((t) => t.graphPermissions.includes(name)).map((t) => t.name);
      console.log(`  ${name.padEnd(16)} ${GRAPH_PERMISSIONS[name].id}  ${GRAPH_PERMISSIONS[name].allows}`);
      console.log(`  ${"".padEnd(16)} used by: ${users.join(", ")}`);
    }
    const none = tools.filter((t) => t.graphPermissions.length === 0).map((t) => t.name);
    if (none.length) console.log(`\nNo Graph permission: ${none.join(", ")}`);
    console.log(
      `\nApp registration (admin consent scope): ${appRegistrationPermissions(graphPermissionsOf(tools)).adminConsentScope}`,
    );
  }
}
