/**
 * `/oauth/callback`: where Entra returns the browser. The `state` must be one this server issued, to
 * this browser, less than ten minutes ago, and unused; the code is redeemed with the managed identity's
 * client assertion; the ID token's `nonce` must match; the Entra tokens are sealed into a new grant,
 * and the browser goes back to the MCP client with our own code, its `state` and our `iss`.
 *
 * @module
 */
import type { Hono } from "hono";
import { jwtVerify } from "jose";
import { sha256b64url } from "../../core/encoding.ts";
import { ANSWERS, failureResponse, isTransient } from "../../core/failure.ts";
import { withFields } from "../../core/log.ts";
import { telemetry } from "../../core/telemetry.ts";
import { entraFailure } from "../../entra/errors.ts";
import { txCookie, type UpstreamTransaction } from "./authorize.ts";
import { type AsContext, errorPage, redirectToClient } from "./context.ts";
import { OAUTH_PATHS } from "./metadata.ts";
import { completeStepUp, type StepUpTransaction } from "./step-up.ts";

/** Entra errors a client understands as they are; anything else is reported as `server_error`. */
const PASS_THROUGH = new Set([
  "access_denied",
  "temporarily_unavailable",
  "server_error",
  "login_required",
  "consent_required",
  "interaction_required",
]);

export function mountCallback(app: Hono, as: AsContext): void {
  const { config } = as;

  app.get(OAUTH_PATHS.callback, async (c) => {
    const q = c.req.query();
    if (!q.state)
      return errorPage(
        c,
        400,
        "Sign-in failed",
        "Entra ID returned without a state. Start again from your application.",
      );
    const stateId = await sha256b64url(q.state);
    const entry = await as.store.get<UpstreamTransaction>("pending", `up_${stateId}`);
    if (!entry)
      return errorPage(
        c,
        400,
        "Sign-in expired",
        "This sign-in expired or was already completed. Start again from your application.",
      );
    const tx = await as.cookies.get<{ s: string }>(c, txCookie(stateId));
    if (tx?.s !== stateId) {
      return errorPage(
        c,
        400,
        "Sign-in refused",
        "This sign-in was started in another browser. Start again from your application.",
      );
    }
    try {
      await as.store.delete("pending", `up_${stateId}`, { ifMatch: entry.etag });
    } catch {
      return errorPage(c, 400, "Sign-in expired", "This sign-in was already completed.");
    }
    // A step-up (`/oauth/step-up`) re-runs only the Entra leg for an existing grant.
    const stepUp = (entry.value as { stepUp?: StepUpTransaction }).stepUp;
    if (stepUp) {
      as.cookies.clear(c, txCookie(stateId));
      return completeStepUp(c, as, { ...entry.value, stepUp }, q);
    }
    const { request, codeVerifier, nonce } = entry.value;
    const log = withFields(as.logger, { correlationId: request.correlationId, client: request.clientId });
    const back = (params: Record<string, string | undefined>) =>
      redirectToClient(c, config, request.redirectUri, { ...params, state: request.state });

    if (q.error) {
      as.cookies.clear(c, txCookie(stateId));
      log.warn("callback: Entra returned an error", {
        error: q.error,
        description: q.error_description?.slice(0, 300),
      });
      const error = PASS_THROUGH.has(q.error) ? q.error : "server_error";
      return back({
        error,
        error_description: `Sign-in with Microsoft Entra ID failed: ${q.error_description?.split("\n")[0] ?? q.error}`,
      });
    }
    if (!q.code) {
      as.cookies.clear(c, txCookie(stateId));
      return back({ error: "server_error", error_description: "Entra ID returned no authorization code." });
    }

    let upstream: Awaited<ReturnType<typeof as.upstream.redeemCode>>;
    try {
      upstream = await as.upstream.redeemCode(q.code, codeVerifier);
    } catch (err) {
      // Entra refused the code, is down, or the server's own managed identity failed: each says so.
      const failure = entraFailure(config, err, "the sign-in");
      telemetry.authFailure(failure.reason, "callback");
      log.warn("callback: code redemption failed", {
        reason: failure.reason,
        error: (err as Error).message.slice(0, 500),
      });
      // Entra unavailable or slow: the sign-in stays open (the same state, the same browser), so reloading
      // this page once Entra answers completes it. Only when it cannot be kept is the client told to retry.
      if (isTransient(failure) && (await reopen(as, stateId, entry))) {
        return failureResponse(failure, { page: true });
      }
      as.cookies.clear(c, txCookie(stateId));
      return back({
        error: ANSWERS[failure.reason].redirectError,
        error_description: `The server could not complete sign-in with Entra ID: ${failure.message}`,
      });
    }

    as.cookies.clear(c, txCookie(stateId));

    // OIDC Core §3.1.3.7: the ID token is for us, from an allowed tenant's issuer, and answers our nonce.
    let idClaims: Record<string, unknown>;
    try {
      if (!upstream.idToken) throw new Error("no id_token");
      ({ payload: idClaims } = await jwtVerify(upstream.idToken, as.entraKeys, {
        algorithms: ["RS256"],
        issuer: config.entra.issuers,
        audience: config.entra.clientId,
        currentDate: new Date(as.now()),
        clockTolerance: 60,
      }));
      if (idClaims.nonce !== nonce) throw new Error("nonce mismatch");
    } catch (err) {
      log.warn("callback: ID token refused", { error: (err as Error).message });
      return back({ error: "server_error", error_description: "Entra ID's ID token did not validate." });
    }
    let principal: Awaited<ReturnType<typeof as.entraVerifier.verify>>["principal"];
    try {
      ({ principal } = await as.entraVerifier.verify(upstream.accessToken));
    } catch (err) {
      log.warn("callback: Entra access token refused", { error: (err as Error).message });
      return back({
        error: "access_denied",
        error_description: "The signed-in account may not use this server.",
      });
    }
    if (
      String(idClaims.oid).toLowerCase() !== principal.objectId ||
      String(idClaims.tid).toLowerCase() !== principal.tenantId
    ) {
      log.warn("callback: ID token and access token name different users");
      return back({ error: "server_error", error_description: "Entra ID's tokens name different users." });
    }

    const { code } = await as.grants.create({
      tid: principal.tenantId,
      oid: principal.objectId,
      name: principal.name,
      username: principal.username,
      clientId: request.clientId,
      scopes: request.scopes,
      correlationId: request.correlationId,
      // Requests saved before `offline` was recorded asked for it through their scopes.
      offline: request.offline ?? request.scopes.includes("offline_access"),
      upstream,
      code: {
        redirectUri: request.redirectUri,
        redirectUriGiven: request.redirectUriGiven,
        codeChallenge: request.codeChallenge,
        resource: request.resource,
      },
      client: {
        name: request.clientName,
        source: request.clientSource,
        host: clientHost(request.clientSource, request.clientId, request.redirectUri),
        redirectUri: request.redirectUri,
      },
    });
    log.info("grant created", { tid: principal.tenantId, oid: principal.objectId });
    return back({ code });
  });
}

/** The host the consent page named: the one that published the client's metadata, else its redirect URI's. */
function clientHost(source: string, clientId: string, redirectUri: string): string {
  const u = new URL(source === "cimd" ? clientId : redirectUri);
  return u.protocol === "http:" || u.protocol === "https:" ? u.host : u.protocol;
}

/** Puts a spent sign-in back for the rest of its ten minutes, so that the callback can be tried again. */
async function reopen(
  as: AsContext,
  stateId: string,
  entry: { value: UpstreamTransaction; expiresAt: number },
): Promise<boolean> {
  const ttlSec = (entry.expiresAt - as.now()) / 1000;
  if (ttlSec < 5) return false;
  try {
    await as.store.put("pending", `up_${stateId}`, entry.value, { ttlSec, ifAbsent: true });
    return true;
  } catch (err) {
    as.logger.warn("callback: sign-in could not be kept for a retry", { error: String(err).slice(0, 200) });
    return false;
  }
}
