/**
 * The authenticated caller, as every tool sees it, whichever auth mode produced it.
 *
 * @module
 */
import type { AuthInfo } from "@modelcontextprotocol/server";

export interface Principal {
  /** Entra tenant id (`tid`). Users are keyed by `tid` + `oid`, never by name or e-mail. */
  tenantId: string;
  /** Entra object id of the user (`oid`). */
  objectId: string;
  name?: string;
  username?: string;
  /** Scopes granted to the caller for this server, fully qualified. */
  scopes: string[];
  /** The client application that obtained the token (`azp`), when known. */
  clientId?: string;
  /** App roles Entra assigned the user on the server's app registration (`roles`), e.g. `MCP.Admin`. */
  roles?: string[];
  /** Proxy mode: the correlation id of the sign-in that produced this token, for the logs. */
  correlationId?: string;
  /**
   * An Entra access token for this server's API, to be exchanged On-Behalf-Of the user.
   * In Entra-direct mode it is the caller's bearer token; in proxy mode the stored upstream token.
   */
  userAssertion: () => Promise<string>;
  /**
   * Proxy mode: a link where the user completes a claims challenge (Conditional Access, CAE) by signing in
   * to Entra again; the new Entra tokens replace the ones behind this principal, so the client's next call
   * works without reconnecting. Absent in Entra-direct mode, where the client signs in itself.
   */
  stepUp?: (claims: string) => Promise<string>;
}

/** What a bearer token proves: who calls, and until when (seconds since the epoch, as `exp`). */
export interface VerifiedToken {
  principal: Principal;
  expiresAt: number;
}

/** Turns a bearer token into a principal, or throws the SDK's `OAuthError` saying why not. */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

/** What the token gate leaves on a Hono context for the handlers behind it. */
export type AuthVariables = { authInfo: AuthInfo; principal: Principal };

/** Carries the principal through the MCP SDK's `AuthInfo`. */
export function toAuthInfo(
  principal: Principal,
  token: string,
  expiresAt: number,
  resource: string,
): AuthInfo {
  return {
    token,
    clientId: principal.clientId ?? "",
    scopes: principal.scopes,
    expiresAt,
    resource: new URL(resource),
    extra: { principal },
  };
}

export function principalOf(authInfo: AuthInfo | undefined): Principal {
  const principal = authInfo?.extra?.principal as Principal | undefined;
  // The MCP endpoint is mounted behind the token gate; reaching a tool without a principal is a wiring bug.
  if (!principal) throw new Error("No authenticated principal on this request");
  return principal;
}
