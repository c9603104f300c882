/**
 * Cookies kept per origin the way a browser keeps them for these flows (a deletion by `Max-Age=0` or an
 * empty value included), and requests sent with them that never follow redirects.
 *
 * @module
 */

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

/** GET/POST with the jar's cookies, never following redirects; stores Set-Cookie back into the jar. */
export async function browse(
  jar: CookieJar,
  url: string | URL,
  init: RequestInit & { headers?: Record<string, string> } = {},
): Promise<Response> {
  const u = new URL(url);
  const cookie = jar.header(u);
  const res = await fetch(u, {
    ...init,
    redirect: "manual",
    headers: { ...(init.headers ?? {}), ...(cookie ? { cookie } : {}) },
  });
  jar.store(u, res);
  return res;
}
