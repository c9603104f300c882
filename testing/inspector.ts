/** The MCP Inspector CLI as the tests run it: on this Node (it needs ≥ 22.19), with all its state private. */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const pkg = createRequire(import.meta.url).resolve("@modelcontextprotocol/inspector/package.json");

/** The Inspector's launcher script; run it with `process.execPath`. */
export const INSPECTOR = join(dirname(pkg), "clients/launcher/build/index.js");

/** Keeps the Inspector's home, catalog, storage, client config and secrets inside `dir`. */
export function inspectorEnv(dir: string): Record<string, string> {
  return {
    HOME: dir,
    MCP_CATALOG_PATH: join(dir, "mcp.json"),
    MCP_STORAGE_DIR: join(dir, "storage"),
    MCP_CLIENT_CONFIG_PATH: join(dir, "client.json"),
    MCP_INSPECTOR_SECRET_STORE: "file",
  };
}
