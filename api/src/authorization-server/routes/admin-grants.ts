/**
 * What administrators may do with grants, on the Connected apps page and at `/api/admin/grants`: find a
 * user's (by object ID or sign-in name) or a client's grants, and revoke one or all of them. An
 * administrator is a person whose Entra token for this server's API carries the `MCP.Admin` app role
 * (`roles`); they act only on grants of users in their own tenant. Every revocation is an audit event:
 * one structured log line (`msg: "audit: grant revoked"`) naming who revoked what, and how.
 *
 * The HTTP endpoint, for scripts (an offboarding runbook):
 *
 * - `GET /api/admin/grants?user=<oid or sign-in name>` or `?client_id=<client id>`: `{ grants: [...] }`;
 * - `DELETE /api/admin/grants/<grant id>`: 204, or 404 when no such grant is live in the caller's tenant;
 * - `DELETE /api/admin/grants?user=…` or `?client_id=…`: `{ revoked: <count> }`.
 *
 * Authenticated with `Authorization: Bearer <Entra access token for api://<app>/user_impersonation>`:
 * 401 without a valid one, 403 without the role.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { ADMIN_GRANTS_PATH } from "../../config/paths.ts";
import { ANSWERS, Failure } from "../../core/failure.ts";
import type { Logger } from "../../core/log.ts";
import type { Principal } from "../../core/principal.ts";
import { auditGrantRevocation } from "../../core/telemetry.ts";
import type { GrantService, GrantSummary } from "../tokens/grants.ts";
import type { AsContext } from "./context.ts";

/** The app role (on the server's app registration, `infra/app/entra.bicep`) that makes an administrator. */
export const ADMIN_ROLE = "MCP.Admin";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Rounds of "list, revoke" a bulk revocation makes (each lists up to 1000 grants). */
const MAX_BULK_ROUNDS = 20;

export interface Actor {
  tid: string;
  oid: string;
  admin: boolean;
  via: "page" | "api";
}

/** The audit event of one revocation. Ids only: never a token. */
export function auditRevocation(logger: Logger, actor: Actor, g: GrantSummary): void {
  const role = actor.admin && actor.oid !== g.oid ? "admin" : "user";
  auditGrantRevocation({
    actorTenantId: actor.tid,
    actorObjectId: actor.oid,
    actorRole: role,
    via: actor.via,
    grantId: g.grantId,
    tenantId: g.tid,
    objectId: g.oid,
    clientId: g.clientId,
  });
  logger.info("audit: grant revoked", {
    event: "grant.revoked",
    actor: { tid: actor.tid, oid: actor.oid, role },
    via: actor.via,
    grant: g.grantId,
    user: { tid: g.tid, oid: g.oid, username: g.username },
    client: { id: g.clientId, name: g.client?.name },
  });
}

export interface Query {
  user?: string;
  client?: string;
}

export function createGrantAdmin(deps: { grants: GrantService; logger: Logger }) {
  const { grants, logger } = deps;

  /** Grants of one user or one client (or both: that user's grants to that client), in `tid` only. */
  async function find(tid: string, q: Query): Promise<{ grants: GrantSummary[] } | { message: string }> {
    let found: GrantSummary[];
    if (q.user) {
      const user = GUID.test(q.user) ? { tid, oid: q.user.toLowerCase() } : await grants.userByName(q.user);
      if (!user || user.tid !== tid)
        return { message: `No user "${q.user}" in your directory has connected apps.` };
      found = await grants.listByUser(user.tid, user.oid);
      if (q.client) found = found.filter((g) => g.clientId === q.client);
    } else if (q.client) {
      found = (await grants.listByClient(q.client)).filter((g) => g.tid === tid);
    } else {
      return { message: "Name a user or a client." };
    }
    return { grants: found };
  }

  return {
    find,

    /** Revokes one grant of the administrator's tenant; `false` if no such grant is live there. */
    async revokeOne(actor: Actor, gid: string): Promise<boolean> {
      const g = await grants.get(gid);
      if (!g || g.tid !== actor.tid) return false;
      const ended = await grants.end(gid);
      if (!ended) return false;
      auditRevocation(logger, actor, ended);
      return true;
    },

    /** Revokes every grant `find` lists (a user's, or a client's in the tenant); returns how many. */
    async revokeAll(actor: Actor, q: Query): Promise<number> {
      let revoked = 0;
      for (let round = 0; round < MAX_BULK_ROUNDS; round++) {
        const found = await find(actor.tid, q);
        if ("message" in found || found.grants.length === 0) break;
        for (const g of found.grants) {
          const ended = await grants.end(g.grantId);
          if (ended) {
            auditRevocation(logger, actor, ended);
            revoked++;
          }
        }
      }
      return revoked;
    },
  };
}

export type GrantAdmin = ReturnType<typeof createGrantAdmin>;

/** The administrators' HTTP endpoint (see the module comment). */
export function mountAdminGrants(app: Hono, as: AsContext, admin: GrantAdmin): void {
  const noStore = { "Cache-Control": "no-store" };
  const fail = (c: Context, status: 400 | 401 | 403 | 404 | 503, error: string, description: string) =>
    c.json({ error, error_description: description }, status, {
      ...noStore,
      ...(status === 401
        ? {
            "WWW-Authenticate": `Bearer error="${error}", error_description="${description.replaceAll('"', "'")}"`,
          }
        : {}),
    });

  /** The administrator behind the bearer token, or the answer that refuses the request. */
  async function caller(c: Context): Promise<Principal | Response> {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (!match) return fail(c, 401, "invalid_token", "Send an Entra access token for this server's API.");
    try {
      const { principal } = await as.entraVerifier.verify(match[1]);
      if (!principal.roles?.includes(ADMIN_ROLE)) {
        return fail(
          c,
          403,
          "forbidden",
          `This needs the ${ADMIN_ROLE} app role on the server's app registration.`,
        );
      }
      return principal;
    } catch (err) {
      if (!(err instanceof Failure)) throw err;
      const status = ANSWERS[err.reason].status;
      if (status === 503) return fail(c, 503, "temporarily_unavailable", err.message);
      return fail(c, status === 403 ? 403 : 401, ANSWERS[err.reason].oauthError, err.message);
    }
  }

  const queryOf = (c: Context): Query => ({
    user: c.req.query("user")?.trim() || undefined,
    client: c.req.query("client_id")?.trim() || undefined,
  });

  app.get(ADMIN_GRANTS_PATH, async (c) => {
    const who = await caller(c);
    if (who instanceof Response) return who;
    const found = await admin.find(who.tenantId, queryOf(c));
    if ("message" in found) return fail(c, 400, "invalid_request", found.message);
    return c.json({ grants: found.grants }, 200, noStore);
  });

  app.delete(ADMIN_GRANTS_PATH, async (c) => {
    const who = await caller(c);
    if (who instanceof Response) return who;
    const q = queryOf(c);
    if (!q.user && !q.client) return fail(c, 400, "invalid_request", "Name a user or a client_id.");
    const actor: Actor = { tid: who.tenantId, oid: who.objectId, admin: true, via: "api" };
    return c.json({ revoked: await admin.revokeAll(actor, q) }, 200, noStore);
  });

  app.delete(`${ADMIN_GRANTS_PATH}/:gid`, async (c) => {
    const who = await caller(c);
    if (who instanceof Response) return who;
    const actor: Actor = { tid: who.tenantId, oid: who.objectId, admin: true, via: "api" };
    if (!(await admin.revokeOne(actor, c.req.param("gid"))))
      return fail(c, 404, "not_found", "No such grant is live in your directory.");
    return c.body(null, 204, noStore);
  });
}
