/**
 * Client authentication at the token and revocation endpoints (RFC 6749 §2.3, §3.2.1; RFC 7009 §2.1).
 *
 * Public clients (`token_endpoint_auth_method: "none"`) name themselves with `client_id` in the form, or
 * as HTTP Basic with an empty password, and prove nothing but PKCE. Confidential clients registered
 * with `client_secret_post` or `client_secret_basic` send the secret they were issued at registration,
 * in the form or as HTTP Basic (either is accepted: both prove the same thing); it is compared with the
 * stored hash in constant time. PKCE stays required for every client.
 *
 * A client that is unknown (never registered, or its registration expired), that sends a secret it was
 * not issued, or whose secret is wrong gets `invalid_client` (401, RFC 6749 §5.2); a client that
 * authenticated with Basic also gets `WWW-Authenticate: Basic`. Clients that see this register again.
 *
 * @module
 */
import { sameSecret } from "../../core/encoding.ts";
import { Failure } from "../../core/failure.ts";
import { AsError } from "../errors.ts";
import type { ClientRecord } from "./metadata.ts";
import { type ClientRegistry, hashClientSecret } from "./registry.ts";

/** What the request presented: who the client says it is, and its secret if it sent one. */
export interface PresentedClient {
  clientId: string;
  secret?: string;
  /** How the credentials came: HTTP Basic, or the form body (`client_id`, `client_secret`). */
  via: "basic" | "form";
}

/** A request whose credentials cannot be read: the OAuth error and whether to challenge for Basic. */
export interface CredentialsProblem {
  error: "invalid_request" | "invalid_client";
  description: string;
  basic: boolean;
}

/** RFC 6749 §2.3.1: Basic's user and password are form-urlencoded before they are base64-encoded. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, " "));
}

/** The client's credentials from the form and the `Authorization` header, or why they can't be used. */
export function presentedClient(
  form: Record<string, string>,
  authorization: string | undefined,
): PresentedClient | CredentialsProblem {
  if (authorization?.match(/^basic /i)) {
    let id: string;
    let secret: string;
    try {
      const decoded = atob(authorization.slice(6).trim());
      const colon = decoded.indexOf(":");
      if (colon < 0) throw new Error("no colon");
      id = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      return { error: "invalid_client", description: "The Basic credentials are malformed.", basic: true };
    }
    // RFC 6749 §2.3: a client MUST NOT use more than one authentication method in a request.
    if (form.client_secret !== undefined)
      return {
        error: "invalid_request",
        description: "Send the client secret either as HTTP Basic or in the form, not both.",
        basic: false,
      };
    if (form.client_id !== undefined && form.client_id !== id)
      return {
        error: "invalid_request",
        description: "client_id differs from the client named in the Authorization header.",
        basic: false,
      };
    if (id) return { clientId: id, secret: secret || undefined, via: "basic" };
  }
  if (!form.client_id)
    return {
      error: "invalid_client",
      description:
        "client_id is required (public clients send it with PKCE; confidential clients add their secret).",
      basic: false,
    };
  return { clientId: form.client_id, secret: form.client_secret || undefined, via: "form" };
}

export function isCredentialsProblem(p: PresentedClient | CredentialsProblem): p is CredentialsProblem {
  return "error" in p;
}

/**
 * The registered client behind `presented`, authenticated; or a `Failure("invalid_client")`. Resolving
 * the client also extends a dynamic registration's lifetime (`registry.ts`).
 */
export async function authenticateClient(
  registry: ClientRegistry,
  presented: PresentedClient,
): Promise<ClientRecord> {
  let client: ClientRecord;
  try {
    client = await registry.resolve(presented.clientId);
  } catch (err) {
    if (!(err instanceof AsError)) throw err;
    throw new Failure("invalid_client", err.message, { log: { reason: err.reason, detail: err.detail } });
  }
  if (client.token_endpoint_auth_method === "none") {
    if (presented.secret !== undefined)
      throw new Failure("invalid_client", "This client is public: send no client_secret.");
    return client;
  }
  if (presented.secret === undefined)
    throw new Failure(
      "invalid_client",
      `This client authenticates with ${client.token_endpoint_auth_method}: send its client_secret.`,
    );
  const matches =
    client.secretHash !== undefined &&
    (await sameSecret(await hashClientSecret(presented.secret), client.secretHash));
  if (!matches) throw new Failure("invalid_client", "Client authentication failed.");
  return client;
}
