/**
 * Shared pieces of the browser tests: Debian's Chromium through playwright-core, a watcher that
 * collects console errors, page errors and CSP violations on every page, stand-ins for the CDN files
 * the SWA CLI's emulated sign-in page loads (no internet here), and screenshots.
 *
 * @module
 */
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { CHROMIUM } from "./chromium.ts";
import { ROOT } from "./stack.ts";

export { ROOT };
export const SCREENSHOTS = `${ROOT}tests/artifacts/screenshots/`;

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // playwright-core passes --headless itself; the rest keeps Chromium quiet and offline.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 60_000,
  });
}

export interface Problem {
  page: string;
  kind: "console" | "pageerror" | "csp";
  text: string;
}

/**
 * Records console errors, uncaught page errors and CSP violations in every page of the context
 * (popups included). `allow` lists the problems a test expects, e.g. the failed health check while
 * the server is stopped.
 */
export async function watchProblems(context: BrowserContext) {
  const problems: Problem[] = [];
  await context.exposeBinding("__reportCspViolation", ({ page }, text: string) => {
    problems.push({ page: page.url(), kind: "csp", text });
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      const report = (globalThis as unknown as { __reportCspViolation?: (t: string) => void })
        .__reportCspViolation;
      report?.(
        `${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`,
      );
    });
  });
  const attach = (page: Page) => {
    page.on("console", (msg) => {
      if (msg.type() === "error" || /Content Security Policy/i.test(msg.text())) {
        const where = msg.location().url;
        problems.push({
          page: page.url(),
          kind: "console",
          text: `${msg.text()}${where ? ` [${where}]` : ""}`,
        });
      }
    });
    page.on("pageerror", (err) => problems.push({ page: page.url(), kind: "pageerror", text: err.message }));
  };
  for (const page of context.pages()) attach(page);
  context.on("page", attach);
  return {
    problems,
    /** Problems not matched by `allow`, formatted for an assertion message. */
    unexpected(allow: RegExp[] = []): Problem[] {
      return problems.filter((p) => !allow.some((re) => re.test(p.text)));
    },
  };
}

/**
 * The SWA CLI's emulated sign-in page (`/.auth/login/aad`) loads jQuery, Bootstrap and images from
 * CDNs that can't be reached here. Serve stand-ins: our jQuery subset for jQuery, empty files for the
 * rest. Every other non-loopback request fails loudly (it would be a bug: the product makes none).
 */
export async function stubCdn(context: BrowserContext): Promise<string[]> {
  const blocked: string[] = [];
  const jquery = readFileSync(new URL("./jquery-stub.js", import.meta.url), "utf8");
  await context.route(
    (url) => !["127.0.0.1", "localhost"].includes(url.hostname),
    (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === "ajax.aspnetcdn.com" || url.hostname === "appservice.azureedge.net") {
        const path = url.pathname;
        if (/\/jquery[^/]*\.js$/.test(path)) {
          return route.fulfill({ contentType: "text/javascript", body: jquery });
        }
        if (path.endsWith(".js")) return route.fulfill({ contentType: "text/javascript", body: "" });
        if (path.endsWith(".css")) return route.fulfill({ contentType: "text/css", body: "" });
        if (path.endsWith(".svg")) {
          return route.fulfill({
            contentType: "image/svg+xml",
            body: '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>',
          });
        }
      }
      blocked.push(url.href);
      return route.abort("blockedbyclient");
    },
  );
  return blocked;
}

/** Saves a full-page screenshot to tests/artifacts/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}${name}.png`;
  await page.screenshot({ path, fullPage: true, animations: "disabled" });
  return path;
}

export function copyToDocs(path: string, name: string): void {
  mkdirSync(`${ROOT}docs`, { recursive: true });
  copyFileSync(path, `${ROOT}docs/${name}`);
}

/** WCAG contrast ratio of two `rgb()`/`rgba()` colours (alpha ignored: callers pass opaque ones). */
export function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
