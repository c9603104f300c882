/**
 * A stand-in web browser for MCP clients that open the authorization URL themselves (mcp-remote, the
 * Inspector CLI). Point their opener at it: the `open` package they use runs `xdg-open`, which runs
 * `$BROWSER <url>`, so `BROWSER="<node> testing/browser-opener.ts"` (no `:` in the paths: xdg-open splits
 * `BROWSER` on colons); `browserEnv()` sets that up and `browserWalks()` reads back what it did.
 *
 * It walks the proxy's consent page and the emulator's sign-in with `walkAuthorization`, then GETs the
 * final redirect, so the client's loopback callback server receives the code the way a real browser
 * would deliver it.
 *
 * Environment:
 * - `BROWSER_WALK_USER`: the UPN to sign in as (default: the emulator's first user, Adele).
 * - `BROWSER_WALK_LOG`: a file to append one JSON line per walk to (the tests read it back).
 *
 * Exits 0 when the callback server answered with a 2xx/3xx, 1 otherwise.
 *
 * @module
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { walkAuthorization } from "./browser-walk.ts";

export interface BrowserWalkRecord {
  authorizeUrl: string;
  consentShown: boolean;
  /** The consent page's `client-name` text, when a consent page was shown. */
  clientName?: string;
  /** The host the consent page says a metadata-document client published its identity at. */
  clientIdHost?: string;
  /** Where the walk ended: the client's redirect URI with `code` (or `error`). */
  redirect?: string;
  /** What the client's callback server answered. */
  callbackStatus?: number;
  error?: string;
}

const DEFAULT_USER = "AdeleV@contoso.onmicrosoft.com";

/**
 * Environment that makes a client's "open the browser" run this script (through the `open` package's
 * bundled xdg-open, which honours `BROWSER`) as `user`, logging each walk to `<dir>/browser.log`.
 */
export function browserEnv(dir: string, user: { upn: string }): Record<string, string> {
  return {
    BROWSER: `${process.execPath} ${fileURLToPath(import.meta.url)}`,
    BROWSER_WALK_USER: user.upn,
    BROWSER_WALK_LOG: join(dir, "browser.log"),
    // xdg-open must not find a desktop to hand the URL to instead.
    DISPLAY: "",
    WAYLAND_DISPLAY: "",
    XDG_CURRENT_DESKTOP: "",
  };
}

/** The walks this script logged in `dir`. */
export function browserWalks(dir: string): BrowserWalkRecord[] {
  const file = join(dir, "browser.log");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BrowserWalkRecord);
}

async function main(url: string | undefined): Promise<number> {
  const logFile = process.env.BROWSER_WALK_LOG;
  const record: BrowserWalkRecord = { authorizeUrl: url ?? "", consentShown: false };
  try {
    if (!url) throw new Error("usage: browser-opener.ts <authorization URL>");
    const back = await walkAuthorization(url, {
      user: process.env.BROWSER_WALK_USER || DEFAULT_USER,
      onConsentPage: (html) => {
        record.clientName = /class="client-name">([^<]*)</.exec(html)?.[1];
        record.clientIdHost = /published its identity at <strong>([^<]*)</.exec(html)?.[1];
      },
    });
    record.consentShown = back.consentShown;
    record.redirect = back.url.toString();
    const res = await fetch(back.url, { redirect: "manual", signal: AbortSignal.timeout(30_000) });
    await res.body?.cancel();
    record.callbackStatus = res.status;
  } catch (err) {
    record.error = String((err as Error)?.stack ?? err);
  }
  if (logFile) appendFileSync(logFile, `${JSON.stringify(record)}\n`);
  else console.error(JSON.stringify(record));
  return record.callbackStatus !== undefined && record.callbackStatus < 400 ? 0 : 1;
}

if (import.meta.main) process.exitCode = await main(process.argv[2]);
