// The landing page's build step, run by `swa build` (swa-cli.config.json `appBuildCommand`, in app/),
// which `azd package` / `azd up` runs for the `web` service. There is nothing to compile; this checks
// that what `swa deploy` is about to publish will work on Azure:
// - app/config.json exists and names the API (the postprovision hook writes it from the azd outputs);
//   without it the page would look for the API on the Static Web App's own origin, where there is none;
// - the only staticwebapp.config.json the SWA CLI can find from swaConfigLocation is the project's own
//   (the CLI walks that whole tree, skipping only node_modules and .git*, and the last one found wins).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const problems = [];

const configFile = join(root, "app", "config.json");
if (!existsSync(configFile)) {
  problems.push(
    "app/config.json is missing: run `azd provision` (its postprovision hook writes it) or `azd hooks run postprovision`.",
  );
} else {
  try {
    const config = JSON.parse(readFileSync(configFile, "utf8"));
    if (!/^https:\/\/[^/?#]+$/.test(String(config.apiBaseUrl))) {
      problems.push(
        `app/config.json: apiBaseUrl must be an https origin, got ${JSON.stringify(config.apiBaseUrl)}.`,
      );
    }
  } catch (err) {
    problems.push(`app/config.json is not JSON: ${err.message}`);
  }
}

/** Every staticwebapp.config.json the SWA CLI would see from `dir` (its traverseFolder rules). */
function swaConfigFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.includes("node_modules") || entry.name.startsWith(".git")) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return swaConfigFiles(path);
    return entry.name === "staticwebapp.config.json" ? [path] : [];
  });
}

const cli = JSON.parse(readFileSync(join(root, "swa-cli.config.json"), "utf8"));
for (const [name, c] of Object.entries(cli.configurations ?? {})) {
  const location = resolve(root, c.swaConfigLocation ?? c.appLocation ?? ".");
  const found = swaConfigFiles(location).map((p) => relative(root, p) || p);
  if (found.length !== 1 || found[0] !== "staticwebapp.config.json") {
    problems.push(
      `swa-cli.config.json (${name}): the SWA CLI would find ${found.join(", ") || "no staticwebapp.config.json"} ` +
        "from swaConfigLocation; only the project's own staticwebapp.config.json may be there.",
    );
  }
}

if (problems.length) {
  for (const p of problems) console.error(`landing page: ${p}`);
  process.exit(1);
}
console.log("landing page: app/config.json and staticwebapp.config.json are ready to deploy");
