/**
 * `/token` (authorization_code with PKCE, refresh_token with rotation) and `/revoke` (RFC 7009).
 * Both authenticate the client first (`clients/authentication.ts`): an unknown or expired registration,
 * or a wrong secret, is `401 invalid_client`. Every answer carries `Cache-Control: no-store` (RFC 6749 §5.1).
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { isOwnResource } from "../../config/paths.ts";
import { sameSecret, sha256b64url } from "../../core/encoding.ts";
import { ANSWERS, Failure, type FailureReason, failureHeaders } from "../../core/failure.ts";
import { telemetry } from "../../core/telemetry.ts";
import {
  authenticateClient,
  isCredentialsProblem,
  type PresentedClient,
  presentedClient,
} from "../clients/authentication.ts";
import type { ClientRecord } from "../clients/metadata.ts";
import type { CodeGrantRequest } from "../tokens/grants.ts";
import { type AsContext, oauthJsonError } from "./context.ts";
import { OAUTH_PATHS } from "./metadata.ts";

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export function mountTokenEndpoints(app: Hono, as: AsContext): void {
  const { config } = as;

  app.post(OAUTH_PATHS.token, async (c) => {
    const limited = await throttled(c, as);
    if (limited) return limited;
    const form = await readForm(c);
    if (!form)
      return oauthJsonError(
        c,
        400,
        "invalid_request",
        "Send the token request as application/x-www-form-urlencoded.",
      );
    const presented = presentedClient(form, c.req.header("authorization"));
    if (isCredentialsProblem(presented)) return credentialsProblem(c, as, presented);
    const authenticated = await authenticate(c, as, presented, form.grant_type);
    if (authenticated instanceof Response) return authenticated;
    const clientId = authenticated.client_id;
    // RFC 8707 §2.2: tokens are only for this server (its MCP endpoint, or its legacy SSE one).
    if (form.resource !== undefined && !isOwnResource(config, form.resource)) {
      return oauthJsonError(
        c,
        400,
        "invalid_target",
        `This server issues tokens only for ${config.resource}.`,
      );
    }
    try {
      switch (form.grant_type) {
        case "authorization_code": {
          if (!form.code) return oauthJsonError(c, 400, "invalid_request", "code is required.");
          if (!form.code_verifier || !VERIFIER.test(form.code_verifier)) {
            return oauthJsonError(
              c,
              400,
              "invalid_request",
              "A PKCE code_verifier (43-128 characters) is required.",
            );
          }
          const { code_verifier: verifier } = form;
          const tokens = await as.grants.redeemCode(form.code, (row) =>
            checkRedemption(row, {
              clientId,
              verifier,
              redirectUri: form.redirect_uri,
              resource: form.resource,
            }),
          );
          return c.json(tokens, 200, NO_STORE);
        }
        case "refresh_token": {
          if (!form.refresh_token)
            return oauthJsonError(c, 400, "invalid_request", "refresh_token is required.");
          const scopes = form.scope ? form.scope.split(" ").filter(Boolean) : undefined;
          // The Entra sign-in behind the grant is renewed first when it is due: a refresh token here never
          // outlives the one at Entra, and a grant Entra ended ends (RFC 6749 §5.2 invalid_grant).
          const tokens = await as.grants.refresh(form.refresh_token, clientId, scopes, async (g) => {
            await as.renewal.currentToken(g, as.now());
          });
          return c.json(tokens, 200, NO_STORE);
        }
        default:
          return oauthJsonError(
            c,
            400,
            "unsupported_grant_type",
            "Supported grant types: authorization_code, refresh_token.",
          );
      }
    } catch (err) {
      if (err instanceof Failure) {
        telemetry.authFailure(err.reason, "token_endpoint");
        as.logger.warn("token refused", {
          client: clientId,
          grant_type: form.grant_type,
          reason: err.reason,
          description: err.message,
          ...err.log,
        });
        // The user must sign in again: at the token endpoint that is the grant's end (RFC 6749 §5.2).
        const reason = SIGN_IN_AGAIN.has(err.reason) ? "invalid_grant" : err.reason;
        const answer = ANSWERS[reason];
        return oauthJsonError(c, answer.status, answer.oauthError, err.message, failureHeaders(err));
      }
      throw err;
    }
  });

  app.post(OAUTH_PATHS.revoke, async (c) => {
    const limited = await throttled(c, as);
    if (limited) return limited;
    const form = await readForm(c);
    if (!form?.token) return oauthJsonError(c, 400, "invalid_request", "token is required.");
    // RFC 7009 §2.1: the client authenticates as at the token endpoint, and only its own tokens are revoked.
    const presented = presentedClient(form, c.req.header("authorization"));
    if (isCredentialsProblem(presented)) return credentialsProblem(c, as, presented);
    const authenticated = await authenticate(c, as, presented, "revoke");
    if (authenticated instanceof Response) return authenticated;
    const clientId = authenticated.client_id;
    await as.grants.revoke(form.token, clientId);
    // RFC 7009 §2.2: 200 whether or not the token existed.
    return c.body(null, 200, NO_STORE);
  });
}

/** RFC 6749 §5.2: a client that tried HTTP Basic is challenged for it again. */
function basicChallenge(as: AsContext, basic: boolean): Record<string, string> {
  return basic ? { "WWW-Authenticate": `Basic realm="${as.config.publicUrl}", charset="UTF-8"` } : {};
}

function credentialsProblem(
  c: Context,
  as: AsContext,
  problem: { error: string; description: string; basic: boolean },
) {
  const status = problem.error === "invalid_client" ? 401 : 400;
  return oauthJsonError(c, status, problem.error, problem.description, basicChallenge(as, problem.basic));
}

/** The authenticated client, or the `401 invalid_client` answer (logged, without the secret). */
async function authenticate(
  c: Context,
  as: AsContext,
  presented: PresentedClient,
  grantType: string | undefined,
): Promise<ClientRecord | Response> {
  try {
    return await authenticateClient(as.clients, presented);
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    telemetry.authFailure(err.reason, "token_endpoint");
    as.logger.warn("client authentication failed", {
      client: presented.clientId.slice(0, 100),
      via: presented.via,
      grant_type: grantType,
      description: err.message,
      ...err.log,
    });
    const answer = ANSWERS[err.reason];
    return oauthJsonError(
      c,
      answer.status,
      answer.oauthError,
      err.message,
      basicChallenge(as, presented.via === "basic"),
    );
  }
}

/** RFC 6585 §4: a caller over its budget of token requests gets 429 with `Retry-After`. */
async function throttled(c: Context, as: AsContext) {
  const limit = await as.limits.token.hit(as.callerAddress(c));
  if (limit.allowed) return undefined;
  telemetry.rateLimitRefusal("token");
  const answer = ANSWERS.throttled;
  return oauthJsonError(c, answer.status, answer.oauthError, "Too many token requests; try again later.", {
    "Retry-After": String(limit.retryAfterSec),
  });
}

/**
 * The token request matches the authorization request the code was issued for: the same client, the
 * redirect URI repeated exactly if it was given (RFC 6749 §4.1.3), the PKCE verifier that hashes to the
 * challenge (RFC 7636 §4.6), and the same resource if both name one (RFC 8707 §2.2).
 */
async function checkRedemption(
  row: CodeGrantRequest,
  request: { clientId: string; verifier: string; redirectUri?: string; resource?: string },
): Promise<void> {
  if (row.clientId !== request.clientId)
    throw new Failure("invalid_grant", "The code was issued to another client.");
  const mismatch =
    request.redirectUri === undefined
      ? row.redirectUriGiven !== false
      : request.redirectUri !== row.redirectUri;
  if (mismatch) throw new Failure("invalid_grant", "redirect_uri does not match the authorization request.");
  if (!(await sameSecret(await sha256b64url(request.verifier), row.codeChallenge))) {
    throw new Failure("invalid_grant", "The code_verifier does not match the code_challenge.");
  }
  if (row.resource !== undefined && request.resource !== undefined && request.resource !== row.resource) {
    throw new Failure("invalid_grant", "resource does not match the authorization request.");
  }
}

const SIGN_IN_AGAIN = new Set<FailureReason>(["reauthenticate", "interaction_required", "consent_required"]);

const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

async function readForm(c: Context): Promise<Record<string, string> | undefined> {
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) return undefined;
  const params = new URLSearchParams(await c.req.text());
  const out: Record<string, string> = {};
  for (const [k, v] of params) out[k] = v;
  return out;
}
