/**
 * Shared pieces of the proxy-mode end-to-end tests with real MCP clients.
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { EmulatorUser } from "@entra-mcp/emulator";
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";
import { walkAuthorization } from "../../scripts/lib/browser-walk.ts";
import { ROOT } from "../../scripts/lib/stack.ts";
import type { BrowserWalkRecord } from "./browser.ts";
import { MemoryOAuthProvider } from "./oauth-provider.ts";

/**
 * `MemoryOAuthProvider` that also keeps the discovery state across the redirect, as the v2 client asks
 * (SEP-2352: the callback leg is checked against the authorization server the flow started with).
 */
export class StatefulOAuthProvider extends MemoryOAuthProvider {
  private _discovery?: unknown;
  saveDiscoveryState(state: unknown) {
    this._discovery = state;
  }
  discoveryState() {
    return this._discovery as never;
  }
}

/**
 * The v2 client's sign-in as an app drives it: connect (401 → the client asks to open the authorization
 * URL), walk the browser part, `finishAuth` with the redirect's parameters, connect again.
 */
export async function signInV2(
  mcpUrl: string,
  provider: StatefulOAuthProvider,
  user: EmulatorUser,
  onConsentPage?: (html: string) => void,
): Promise<{ client: Client; authorizeUrl: URL }> {
  const transport = () =>
    new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider as never });
  const first = transport();
  await assert.rejects(new Client({ name: "e2e", version: "1.0.0" }).connect(first), UnauthorizedError);
  const authorizeUrl = provider.authorizationUrl;
  assert.ok(authorizeUrl, "the client asked to open an authorization URL");
  assert.equal(authorizeUrl.origin, new URL(mcpUrl).origin, "the MCP server is the authorization server");
  const back = await walkAuthorization(authorizeUrl.toString(), { user: user.upn, onConsentPage });
  assert.ok(back.consentShown, "the proxy asked the user for consent");
  assert.ok(back.url.searchParams.get("code"), `no code in ${back.url}`);
  assert.equal(back.url.searchParams.get("iss"), new URL(mcpUrl).origin, "RFC 9207 iss is the server");
  await first.finishAuth(back.url.searchParams);
  await first.close();
  const client = new Client({ name: "e2e", version: "1.0.0" });
  await client.connect(transport());
  return { client, authorizeUrl };
}

/** Asserts a `get_graph_user_details` result is the emulator's Graph `/me` for `user`. */
export function assertGraphUser(result: unknown, user: EmulatorUser): Record<string, unknown> {
  const r = result as { isError?: boolean; content?: Array<{ type: string; text?: string }> };
  assert.notEqual(r.isError, true, `the tool failed: ${JSON.stringify(r).slice(0, 500)}`);
  const text = r.content?.find((c) => c.type === "text")?.text;
  assert.ok(text, `no text content in ${JSON.stringify(r).slice(0, 500)}`);
  const me = JSON.parse(text) as Record<string, unknown>;
  assert.equal(me.userPrincipalName, user.upn);
  assert.equal(me.id, user.oid);
  assert.equal(me.displayName, user.displayName);
  return me;
}

/**
 * Environment that makes a client's "open the browser" run `tests/helpers/browser.ts` (through the
 * `open` package's bundled xdg-open, which honours `BROWSER`), logging each walk to `<dir>/browser.log`.
 */
export function browserEnv(dir: string, user: EmulatorUser): Record<string, string> {
  return {
    BROWSER: `${process.execPath} ${join(ROOT, "tests", "helpers", "browser.ts")}`,
    BROWSER_WALK_USER: user.upn,
    BROWSER_WALK_LOG: join(dir, "browser.log"),
    // xdg-open must not find a desktop to hand the URL to instead.
    DISPLAY: "",
    WAYLAND_DISPLAY: "",
    XDG_CURRENT_DESKTOP: "",
  };
}

/** The walks `browser.ts` logged in `dir`. */
export function browserWalks(dir: string): BrowserWalkRecord[] {
  const file = join(dir, "browser.log");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BrowserWalkRecord);
}

/** `process.env` without `undefined` values, for child process environments. */
export function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
}
