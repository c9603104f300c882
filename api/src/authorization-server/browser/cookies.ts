/**
 * Signed cookies for the browser leg of the proxy: which clients this browser has approved, and the
 * one in-flight sign-in it started. HMAC-SHA256 with a key generated at run time and kept in the store.
 *
 * Over https the names carry the `__Host-` prefix (Secure, Path=/, no Domain: bound to this origin).
 * Over plain http on 127.0.0.1, for local runs, browsers refuse `__Host-` and `Secure`, so the plain
 * name is used there.
 *
 * @module
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { base64url } from "../../core/encoding.ts";

const enc = new TextEncoder();

export interface SignedCookies {
  set(c: Context, name: string, value: Record<string, unknown>, maxAgeSec: number): Promise<void>;
  get<T>(c: Context, name: string): Promise<T | undefined>;
  clear(c: Context, name: string): void;
}

export function signedCookies(opts: {
  secure: boolean;
  hmacKey: () => Promise<CryptoKey>;
  /** ms since the epoch */
  now: () => number;
}): SignedCookies {
  const fullName = (name: string) => (opts.secure ? `__Host-${name}` : name);
  const mac = async (payload: string) =>
    base64url.encode(
      new Uint8Array(await crypto.subtle.sign("HMAC", await opts.hmacKey(), enc.encode(`${payload}`))),
    );
  return {
    async set(c, name, value, maxAgeSec) {
      const payload = base64url.encode(
        enc.encode(JSON.stringify({ ...value, exp: Math.floor(opts.now() / 1000) + maxAgeSec })),
      );
      // The MAC covers the cookie name too, so one cookie's value can't be replayed as another.
      setCookie(c, fullName(name), `${payload}.${await mac(`${name}.${payload}`)}`, {
        path: "/",
        httpOnly: true,
        secure: opts.secure,
        sameSite: "Lax",
        maxAge: maxAgeSec,
      });
    },
    async get<T>(c: Context, name: string) {
      const raw = getCookie(c, fullName(name));
      if (!raw) return undefined;
      const [payload, sig] = raw.split(".");
      if (!payload || !sig) return undefined;
      const key = await opts.hmacKey();
      let valid = false;
      try {
        valid = await crypto.subtle.verify(
          "HMAC",
          key,
          new Uint8Array(base64url.decode(sig)),
          enc.encode(`${name}.${payload}`),
        );
      } catch {
        return undefined;
      }
      if (!valid) return undefined;
      try {
        const value = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as T & { exp: number };
        return value.exp > opts.now() / 1000 ? value : undefined;
      } catch {
        return undefined;
      }
    },
    clear(c, name) {
      setCookie(c, fullName(name), "", {
        path: "/",
        maxAge: 0,
        secure: opts.secure,
        httpOnly: true,
        sameSite: "Lax",
      });
    },
  };
}
