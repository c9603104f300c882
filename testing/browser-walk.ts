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
import { browse, CookieJar } from "./cookie-jar.ts";

/** The server's consent form as a browser holds it before the user answers it. */
export interface ConsentForm {
  requestId: string;
  csrf: string;
  /** The checkboxes the page shows ticked (`name` → `value`): a browser sends these with the answer. */
  ticked: Record<string, string>;
}

/** The consent form's fields, or `undefined` when `html` is not the consent page. */
export function consentFields(html: string): ConsentForm | undefined {
  const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1];
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
  const ticked: Record<string, string> = {};
  for (const [input] of html.matchAll(/<input type="checkbox"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(input)?.[1];
    if (name && /\schecked[\s>]/.test(input)) ticked[name] = /value="([^"]*)"/.exec(input)?.[1] ?? "on";
  }
  return requestId && csrf ? { requestId, csrf, ticked } : undefined;
}

/**
 * The fields a browser posts when the user answers `form` with `decision`: the hidden fields and the
 * ticked checkboxes, less "Stay signed in" when `staySignedIn` is false (the user unticked it).
 */
export function consentAnswer(
  form: ConsentForm,
  decision: "approve" | "deny",
  opts: { staySignedIn?: boolean } = {},
): Record<string, string> {
  const ticked = { ...form.ticked };
  if (opts.staySignedIn === false) delete ticked.stay_signed_in;
  return { ...ticked, request_id: form.requestId, csrf_token: form.csrf, decision };
}

export interface WalkOptions {
  /** The test user's UPN to sign in as. */
  user: string;
  /** Answer the consent page with Approve (default) or Deny. */
  decision?: "approve" | "deny";
  /** Untick "Stay signed in" when the page offers it (`false`); left as the page shows it otherwise. */
  staySignedIn?: boolean;
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
  let url = new URL(authorizeUrl);
  let res = await browse(jar, url);
  let consentShown = false;
  if (res.status === 200) {
    const html = await res.text();
    const form = consentFields(html);
    if (!form) throw new Error(`expected the consent page, got:\n${html.slice(0, 500)}`);
    consentShown = true;
    opts.onConsentPage?.(html);
    res = await browse(jar, new URL("/authorize/consent", server), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server },
      body: new URLSearchParams(
        consentAnswer(form, opts.decision ?? "approve", { staySignedIn: opts.staySignedIn }),
      ),
    });
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
  res = await browse(jar, callback);
  if (res.status !== 302)
    throw new Error(`the callback answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  return { url: new URL(res.headers.get("location") ?? "", callback), consentShown };
}
