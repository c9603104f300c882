// The emulator's admin endpoint, `/_emulator/faults` on the plain-HTTP loopback listener: list, add
// and clear faults (emulator/faults.ts). `_emulator` can never be a tenant segment (no GUID or
// domain has an underscore), so it is never mistaken for an Entra path. Only loopback peers get in,
// and only non-browser requests: a page on another site can't reach it through the user's browser.
import type { IncomingMessage } from "node:http";
import type { Context, Hono } from "hono";
import { checkFaultSpec, type FaultInfo } from "./faults.ts";
import { json } from "./http.ts";
import type { State } from "./state.ts";

export const ADMIN_PATH = "/_emulator/faults";

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

function isLoopbackPeer(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4 === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

const refuse = (status: number, message: string) => json({ error: "forbidden", message }, status);

/** Why this request may not use the admin endpoint, or null when it may. */
function refusal(c: Context): Response | null {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!isLoopbackPeer(incoming?.socket.remoteAddress)) {
    return refuse(403, "The emulator's admin endpoint answers loopback clients only.");
  }
  // A Host other than a loopback name is DNS rebinding; an Origin or Sec-Fetch-Site means a browser.
  const host = (c.req.header("host") ?? "").replace(/:\d+$/, "").toLowerCase();
  if (!LOOPBACK_HOSTS.has(host))
    return refuse(403, "Use http://127.0.0.1:<port> or http://localhost:<port>.");
  const site = c.req.header("sec-fetch-site");
  if (c.req.header("origin") !== undefined || (site !== undefined && site !== "none")) {
    return refuse(403, "The emulator's admin endpoint is not for browsers.");
  }
  return null;
}

export function mountAdmin(app: Hono, state: State): void {
  app.use(`${ADMIN_PATH}`, async (c, next) => refusal(c) ?? (await next()));
  app.use(`${ADMIN_PATH}/*`, async (c, next) => refusal(c) ?? (await next()));

  app.get(ADMIN_PATH, () => json({ faults: state.faultSet.list() }));

  app.post(ADMIN_PATH, async (c) => {
    if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
      return json({ error: "unsupported_media_type", message: "Send the fault as application/json." }, 415);
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return json({ error: "invalid_request", message: "The body is not JSON." }, 400);
    }
    const items = Array.isArray(body) ? body : [body];
    let specs: ReturnType<typeof checkFaultSpec>[];
    try {
      specs = items.map(checkFaultSpec);
    } catch (err) {
      return json({ error: "invalid_request", message: (err as Error).message }, 400);
    }
    const added: FaultInfo[] = specs.map((s) => state.faultSet.add(s));
    return json({ faults: added }, 201);
  });

  app.delete(ADMIN_PATH, () => json({ cleared: state.faultSet.clear() }));

  app.delete(`${ADMIN_PATH}/:id`, (c) => {
    const cleared = state.faultSet.clear(c.req.param("id"));
    return cleared ? json({ cleared }) : json({ error: "not_found", message: "No fault with that id." }, 404);
  });
}
