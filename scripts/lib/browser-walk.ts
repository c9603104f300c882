/**
 * A headless "browser" for the proxy's sign-in: opens the server's `/authorize` URL, answers its
 * consent page, signs a test user in at the Entra emulator, follows the callback, and returns where
 * the browser ends up: the MCP client's redirect URI with `code`, `state` and `iss` (or `error`).
 * It keeps cookies per origin like a browser, so consent is remembered between walks that share a jar.
 *
 * Used by the tests, by `mcp-remote`'s BROWSER stand-in, and by anything else that must complete
 * the OAuth dance without a person.
 *
 * @module
 */
import { signIn } from "@entra-mcp/emulator/signin";

export class CookieJar {
  private readonly jars = new Map<string, Map<string, string>>();
  header(url: URL): string | undefined {
    const jar = this.jars.get(url.origin);
    return jar?.size ? [...jar].map(([k, v]) => `${k}=${v}`).join("; ") : undefined;
  }
  store(url: URL, res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const jar = this.jars.get(url.origin) ?? new Map<string, string>();
      this.jars.set(url.origin, jar);
      if (attrs.some((a) => /max-age=0\b/i.test(a.trim())) || value === "") jar.delete(name);
      else jar.set(name, value);
    }
  }
}

export interface WalkOptions {
  /** The test user's UPN to sign in as. */
  user: string;
  /** Answer the consent page with Approve (default) or Deny. */
  decision?: "approve" | "deny";
  jar?: CookieJar;
  /** Called with the consent page's HTML, for assertions. */
  onConsentPage?: (html: string) => void;
}

export interface WalkResult {
  /** Where the browser was sent back to the client. */
  url: URL;
  /** Whether the proxy showed a consent page on the way. */
  consentShown: boolean;
}

export async function walkAuthorization(authorizeUrl: string, opts: WalkOptions): Promise<WalkResult> {
  const jar = opts.jar ?? new CookieJar();
  const server = new URL(authorizeUrl).origin;
  const get = async (url: URL) => {
    const cookie = jar.header(url);
    const res = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
    jar.store(url, res);
    return res;
  };

  let url = new URL(authorizeUrl);
  let res = await get(url);
  let consentShown = false;
  if (res.status === 200) {
    const html = await res.text();
    const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1];
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
    if (!requestId || !csrf) throw new Error(`expected the consent page, got:\n${html.slice(0, 500)}`);
    consentShown = true;
    opts.onConsentPage?.(html);
    const action = new URL("/authorize/consent", server);
    const cookie = jar.header(action);
    res = await fetch(action, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: server,
        ...(cookie ? { cookie } : {}),
      },
      body: new URLSearchParams({
        request_id: requestId,
        csrf_token: csrf,
        decision: opts.decision ?? "approve",
      }),
    });
    jar.store(action, res);
  }
  if (res.status !== 302)
    throw new Error(
      `expected a redirect from ${url}, got ${res.status}: ${(await res.text()).slice(0, 300)}`,
    );
  url = new URL(res.headers.get("location") ?? "", url);
  // Not Entra's authorize endpoint: the proxy sent the browser straight back to the client (a denial).
  if (!url.pathname.endsWith("/oauth2/v2.0/authorize")) return { url, consentShown };
  // At Entra: sign in, then follow the callback on our server with this browser's cookies.
  const callback = await signIn(url.toString(), { user: opts.user });
  if (callback.origin !== server) return { url: callback, consentShown };
  res = await get(callback);
  if (res.status !== 302)
    throw new Error(`the callback answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  return { url: new URL(res.headers.get("location") ?? "", callback), consentShown };
}
