// Headless driver for the emulator's sign-in pages (see the page contract in authorize.ts).
// Walks the pages over HTTP(S) and returns the final answer to the client without following it.
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { rootCertificates } from "node:tls";
import { DEFAULT_CA_DIR } from "./ca.ts";

export interface SignInOptions {
  /** UPN of a seeded user, e.g. "AdeleV@contoso.onmicrosoft.com". */
  user: string;
  /** What to answer if a consent page appears: true (default) = Accept, false = Cancel. */
  consent?: boolean;
  /** Extra CA certificate(s) to trust (default: NODE_EXTRA_CA_CERTS, else the emulator's local CA). */
  ca?: string;
  /** Cookie header to send (an existing ESTSAUTH session, for SSO); the jar is per call otherwise. */
  cookie?: string;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** NODE_EXTRA_CA_CERTS plus the emulator's default local CA (whichever exist). */
function defaultCa(): string[] {
  const out: string[] = [];
  for (const path of [process.env.NODE_EXTRA_CA_CERTS, `${DEFAULT_CA_DIR}/ca.pem`]) {
    if (!path) continue;
    try {
      out.push(readFileSync(path, "utf8"));
    } catch {
      /* absent: skip */
    }
  }
  return out;
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  ca: string[],
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(
      url,
      { method, headers, ...(url.protocol === "https:" ? { ca: [...rootCertificates, ...ca] } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

function attr(tag: string, name: string): string | undefined {
  const m = tag.match(new RegExp(`\\s${name}="([^"]*)"`));
  return m ? decode(m[1]) : undefined;
}

function formOf(html: string, id: string): { action: string; fields: Record<string, string> } {
  const start = html.indexOf(`<form id="${id}"`);
  if (start < 0) throw new Error(`emulator page has no form #${id}`);
  const end = html.indexOf("</form>", start);
  const chunk = html.slice(start, end);
  const action = attr(chunk.slice(0, chunk.indexOf(">") + 1), "action") ?? "";
  const fields: Record<string, string> = {};
  for (const m of chunk.matchAll(/<input type="hidden"[^>]*>/g)) {
    const name = attr(m[0], "name");
    if (name) fields[name] = attr(m[0], "value") ?? "";
  }
  return { action, fields };
}

/**
 * Opens `authorizeUrl`, picks `opts.user` on the sign-in page, answers a consent page if one is
 * shown, and returns the URL the emulator sends the browser back to (the client's redirect URI with
 * `code`/`state` or `error`). For response_mode=form_post the posted fields are returned as the
 * URL's query. Throws on an emulator error page (AADSTS50011, 700016, 9010010...).
 */
export async function signIn(authorizeUrl: string, opts: SignInOptions): Promise<URL> {
  const ca = opts.ca ? [opts.ca, ...defaultCa()] : defaultCa();
  const cookies = new Map<string, string>();
  if (opts.cookie) {
    for (const part of opts.cookie.split(";")) {
      const [k, ...v] = part.trim().split("=");
      if (k) cookies.set(k, v.join("="));
    }
  }
  let url = new URL(authorizeUrl);
  let method = "GET";
  let body: string | undefined;
  for (let step = 0; step < 10; step++) {
    const headers: Record<string, string> = { accept: "text/html" };
    if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await send(url, method, headers, body, ca);
    const setCookie = res.headers["set-cookie"];
    for (const c of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.location;
      if (!location) throw new Error(`redirect without Location from ${url}`);
      return new URL(String(location), url);
    }
    const kind = res.body.match(/<meta name="emulator-page" content="([^"]+)">/)?.[1];
    if (kind === "error") {
      const msg = res.body.match(/<p id="message"[^>]*>([\s\S]*?)<\/p>/)?.[1] ?? "unknown error";
      throw new Error(`Entra emulator error page: ${decode(msg)}`);
    }
    if (kind === "form_post") {
      const form = formOf(res.body, "form_post");
      const target = new URL(form.action);
      for (const [k, v] of Object.entries(form.fields)) target.searchParams.set(k, v);
      return target;
    }
    if (kind === "signin") {
      const form = formOf(res.body, "signin");
      url = new URL(form.action, url);
      body = new URLSearchParams({ ...form.fields, login: opts.user }).toString();
      method = "POST";
      continue;
    }
    if (kind === "consent") {
      const form = formOf(res.body, "consent");
      url = new URL(form.action, url);
      body = new URLSearchParams({ ...form.fields, acceptConsent: String(opts.consent ?? true) }).toString();
      method = "POST";
      continue;
    }
    throw new Error(
      `unexpected answer from the emulator (${res.status}) at ${url}: ${res.body.slice(0, 200)}`,
    );
  }
  throw new Error("too many sign-in steps");
}
