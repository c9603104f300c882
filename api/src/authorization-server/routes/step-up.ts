/**
 * Step-up in proxy mode: when Conditional Access or Continuous Access Evaluation asks for a sign-in that
 * satisfies a claims challenge (MFA, a compliant device, a fresh sign-in), the MCP client cannot help: it
 * holds this server's token, not Entra's. So the tool error carries a link to `/oauth/step-up`, which
 * re-runs only the Entra leg of the sign-in with those claims and the user's login hint, and re-seals the
 * new Entra tokens into the user's existing grant. The client keeps its tokens; its retry of the same
 * call then works.
 *
 * The link holds a one-time secret: the ticket stored under its hash keeps the grant key wrapped with it
 * (as codes and refresh tokens do), so the store alone cannot re-seal a grant. Whoever opens the link must
 * sign in as the grant's own user (same `tid` and `oid`), or nothing changes.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { jwtVerify } from "jose";
import { randomToken, sha256b64url } from "../../core/encoding.ts";
import { page, pageSecurityHeaders } from "../../core/page.ts";
import { entraFailure } from "../../entra/errors.ts";
import { upstreamAuthorizeUrl } from "../../entra/upstream.ts";
import { unwrapKey, wrapKey } from "../tokens/crypto.ts";
import type { Grant, OpenedGrant } from "../tokens/grants.ts";
import { PENDING_TTL_SEC, txCookie, type UpstreamTransaction } from "./authorize.ts";
import { type AsContext, errorPage } from "./context.ts";

export const STEP_UP_PATH = "/oauth/step-up";

interface StepUpTicket {
  gid: string;
  tid: string;
  oid: string;
  wrappedKey: string;
  claims: string;
  loginHint?: string;
}

/** What the callback needs to finish a step-up instead of a new grant. */
export interface StepUpTransaction {
  /** The ticket's secret: unwraps the grant key. */
  secret: string;
}

export interface StepUpService {
  /** A link that completes `claims` for the grant behind this request, valid for ten minutes. */
  start(g: OpenedGrant, claims: string): Promise<string>;
}

export function createStepUp(as: Pick<AsContext, "config" | "store">): StepUpService {
  return {
    async start(g, claims) {
      const secret = randomToken(32);
      const ticket: StepUpTicket = {
        gid: g.grantId,
        tid: g.grant.tid,
        oid: g.grant.oid,
        wrappedKey: await wrapKey(g.grantKey, secret),
        claims,
        loginHint: g.grant.username,
      };
      await as.store.put("pending", `su_${await sha256b64url(secret)}`, ticket, { ttlSec: PENDING_TTL_SEC });
      return `${as.config.publicUrl}${STEP_UP_PATH}?t=${secret}`;
    },
  };
}

export function mountStepUp(app: Hono, as: AsContext): void {
  app.get(STEP_UP_PATH, async (c) => {
    const secret = c.req.query("t") ?? "";
    const ticket =
      secret.length <= 64
        ? await as.store.get<StepUpTicket>("pending", `su_${await sha256b64url(secret)}`)
        : undefined;
    if (!ticket)
      return errorPage(
        c,
        400,
        "Link expired",
        "This sign-in link expired or was used. Call the tool again for a new one.",
      );
    // The Entra leg, as at sign-in, with the claims to satisfy and the user's own account preselected.
    const state = randomToken(32);
    const codeVerifier = randomToken(32);
    const nonce = randomToken(16);
    const stateId = await sha256b64url(state);
    const tx: Omit<UpstreamTransaction, "request"> & { stepUp: StepUpTransaction } = {
      codeVerifier,
      nonce,
      stepUp: { secret },
    };
    await as.store.put("pending", `up_${stateId}`, tx, { ttlSec: PENDING_TTL_SEC, ifAbsent: true });
    await as.cookies.set(c, txCookie(stateId), { s: stateId }, PENDING_TTL_SEC);
    const url = upstreamAuthorizeUrl(as.config, {
      state,
      nonce,
      codeChallenge: await sha256b64url(codeVerifier),
      graphPermissions: as.graphPermissions,
      loginHint: ticket.value.loginHint,
      claims: ticket.value.claims,
    });
    return c.redirect(url, 302);
  });
}

/** The callback's end of a step-up: redeem, check it is the grant's user, re-seal, tell the user. */
export async function completeStepUp(
  c: Context,
  as: AsContext,
  tx: { codeVerifier: string; nonce: string; stepUp: StepUpTransaction },
  q: Record<string, string>,
): Promise<Response> {
  const fail = (message: string) => errorPage(c, 400, "Sign-in step not completed", message);
  const ticketKey = `su_${await sha256b64url(tx.stepUp.secret)}`;
  const ticket = await as.store.get<StepUpTicket>("pending", ticketKey);
  if (!ticket) return fail("This sign-in link expired or was used. Call the tool again for a new one.");
  if (q.error) return fail(`Microsoft Entra ID answered: ${q.error_description?.split("\n")[0] ?? q.error}`);
  if (!q.code) return fail("Microsoft Entra ID returned no authorization code.");
  const { config } = as;
  let upstream: Awaited<ReturnType<typeof as.upstream.redeemCode>>;
  try {
    upstream = await as.upstream.redeemCode(q.code, tx.codeVerifier);
    if (!upstream.idToken) throw new Error("no id_token");
  } catch (err) {
    const failure = entraFailure(config, err, "the sign-in");
    as.logger.warn("step-up: code redemption failed", { reason: failure.reason });
    return fail(failure.message);
  }
  try {
    const { payload } = await jwtVerify(upstream.idToken, as.entraKeys, {
      algorithms: ["RS256"],
      issuer: config.entra.issuers,
      audience: config.entra.clientId,
      currentDate: new Date(as.now()),
      clockTolerance: 60,
    });
    if (payload.nonce !== tx.nonce) throw new Error("nonce mismatch");
    const { principal } = await as.entraVerifier.verify(upstream.accessToken);
    const same = (a: unknown, b: string) => String(a).toLowerCase() === b.toLowerCase();
    if (
      !same(payload.oid, ticket.value.oid) ||
      !same(payload.tid, ticket.value.tid) ||
      !same(principal.objectId, ticket.value.oid) ||
      !same(principal.tenantId, ticket.value.tid)
    ) {
      return errorPage(
        c,
        403,
        "Different account",
        "Sign in with the same account you use in your MCP client.",
      );
    }
  } catch (err) {
    as.logger.warn("step-up: tokens refused", { error: (err as Error).message });
    return fail("Microsoft Entra ID's tokens did not validate.");
  }
  const grant = await as.store.get<Grant>("grant", ticket.value.gid);
  if (!grant) return fail("Your sign-in to this server ended. Reconnect your MCP client to sign in again.");
  const grantKey = await unwrapKey(ticket.value.wrappedKey, tx.stepUp.secret);
  const current = await as.grants.openUpstream(ticket.value.gid, grant.value, grantKey);
  await as.grants.saveUpstream(ticket.value.gid, grant.value, grant.etag, grantKey, {
    ...upstream,
    refreshToken: upstream.refreshToken ?? current.refreshToken,
  });
  await as.store.delete("pending", ticketKey).catch(() => {});
  as.logger.info("grant stepped up", { oid: ticket.value.oid });
  return c.html(
    page(
      "Sign-in step completed",
      `<p class="ok"><strong>You completed the extra sign-in step your organisation asks for.</strong></p>
<p>Close this window and call the tool again in your MCP client: it does not need to reconnect.</p>`,
    ),
    200,
    pageSecurityHeaders([]),
  );
}
