/**
 * Client metadata (RFC 7591 §2) as this authorization server accepts it, from a registration request
 * (DCR) or a Client ID Metadata Document (CIMD): one schema, one parser, one record shape.
 *
 * Policy: every client uses PKCE. Public clients (`token_endpoint_auth_method: "none"`, the default
 * here) prove nothing else; a registration that asks for `client_secret_post` or `client_secret_basic`
 * (Claude.ai, Open WebUI) is issued a secret, stored only as a hash (`registry.ts`, `authentication.ts`).
 * Other methods (`private_key_jwt`, `tls_client_auth`…) are refused. Unknown fields are ignored (RFC 7591
 * §2: "The authorization server MUST ignore any client metadata sent by the client that it does not
 * understand").
 *
 * Errors: anything wrong with `redirect_uris` is `invalid_redirect_uri`, anything else
 * `invalid_client_metadata` (RFC 7591 §3.2.2), with a description naming the field and the rule.
 *
 * @module
 */
import * as z from "zod";
import { OAuthErrorCode, ok, type Result, reject } from "../errors.ts";
import { clip, type RedirectUriPolicy, validateRedirectUriForRegistration } from "./redirect-uri.ts";

export const SUPPORTED_GRANT_TYPES = ["authorization_code", "refresh_token"] as const;
export type GrantType = (typeof SUPPORTED_GRANT_TYPES)[number];

/** RFC 7591 §2: how the client authenticates at the token endpoint. */
export const SUPPORTED_AUTH_METHODS = ["none", "client_secret_post", "client_secret_basic"] as const;
export type TokenEndpointAuthMethod = (typeof SUPPORTED_AUTH_METHODS)[number];

export interface ClientMetadata {
  redirect_uris: string[];
  /** Display name, control and bidi-override characters removed. Attacker-controlled: escape it in HTML. */
  client_name?: string;
  client_uri?: string;
  logo_uri?: string;
  grant_types: GrantType[];
  response_types: ["code"];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  scope?: string;
  /** As sent, or inferred: `native` when any redirect URI is loopback or a private-use scheme. */
  application_type: "native" | "web";
  software_id?: string;
  software_version?: string;
}

/** A client the authorization server knows, however it came to know it. */
export interface ClientRecord extends ClientMetadata {
  client_id: string;
  /**
   * `cimd`: the `client_id` is the URL of its metadata document. `dcr`: registered at `/register`.
   * `preregistered`: listed in the server's configuration.
   */
  source: "cimd" | "dcr" | "preregistered";
  /** Confidential registrations: the SHA-256 of the secret issued at registration. Never sent anywhere. */
  secretHash?: string;
}

export const LIMITS = {
  redirectUris: 20,
  clientName: 200,
  shortText: 200,
  scope: 1000,
  url: 2000,
} as const;

// Cc (C0, DEL, C1) plus the bidi controls that let a name display differently from what it contains
// (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069): the consent screen must show what the client is.
function cleanDisplayText(value: string): string {
  let out = "";
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
    const bidi =
      c === 0x061c ||
      c === 0x200e ||
      c === 0x200f ||
      (c >= 0x202a && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069);
    if (!control && !bidi) out += ch;
  }
  return out.trim();
}

function isHttpsUrl(value: string): boolean {
  if (!value.startsWith("https://")) return false;
  try {
    const u = new URL(value);
    return u.hostname !== "" && !u.username && !u.password;
  } catch {
    return false;
  }
}

// RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

const text = (field: string, max: number) =>
  z
    .string({ error: `${field} must be a string` })
    .max(max, { error: `${field} must be at most ${max} characters` });

const httpsUrl = (field: string) =>
  text(field, LIMITS.url).refine(isHttpsUrl, { error: `${field} must be an https URL without credentials` });

const AUTH_METHODS = `supported: ${SUPPORTED_AUTH_METHODS.join(", ")}; every client uses PKCE`;

/** The zod schema; `policy` widens the accepted private-use redirect schemes. */
export function clientMetadataSchema(policy: RedirectUriPolicy = {}) {
  const redirectUri = z.string({ error: "redirect_uris must contain strings" }).check((ctx) => {
    const r = validateRedirectUriForRegistration(ctx.value, policy);
    if (!r.ok) ctx.issues.push({ code: "custom", message: r.error.description, input: ctx.value });
  });

  return z.object({
    redirect_uris: z
      .array(redirectUri, { error: "redirect_uris is required and must be an array of URIs" })
      .min(1, { error: "redirect_uris must contain at least one URI" })
      .max(LIMITS.redirectUris, { error: `redirect_uris may contain at most ${LIMITS.redirectUris} URIs` }),
    client_name: z
      .string({ error: "client_name must be a string" })
      .transform(cleanDisplayText)
      .pipe(text("client_name", LIMITS.clientName))
      .optional(),
    client_uri: httpsUrl("client_uri").optional(),
    logo_uri: httpsUrl("logo_uri").optional(),
    // RFC 7591 §2: grant_types defaults to ["authorization_code"], response_types to ["code"].
    grant_types: z
      .array(z.string({ error: "grant_types must contain strings" }), {
        error: "grant_types must be an array",
      })
      .default(["authorization_code"])
      .check((ctx) => {
        for (const g of ctx.value) {
          if (!(SUPPORTED_GRANT_TYPES as readonly string[]).includes(g)) {
            ctx.issues.push({
              code: "custom",
              input: ctx.value,
              message: `grant_types: "${clip(g, 50)}" is not supported (supported: ${SUPPORTED_GRANT_TYPES.join(", ")})`,
            });
            return;
          }
        }
        if (!ctx.value.includes("authorization_code")) {
          ctx.issues.push({
            code: "custom",
            input: ctx.value,
            message: 'grant_types must include "authorization_code"',
          });
        }
      }),
    response_types: z
      .array(z.string({ error: "response_types must contain strings" }), {
        error: "response_types must be an array",
      })
      .default(["code"])
      .check((ctx) => {
        // RFC 7591 §2.1: response_types "code" goes with grant type authorization_code, the only flow here.
        if (ctx.value.length === 0 || ctx.value.some((t) => t !== "code")) {
          ctx.issues.push({ code: "custom", input: ctx.value, message: 'response_types must be ["code"]' });
        }
      }),
    token_endpoint_auth_method: z
      .string({ error: "token_endpoint_auth_method must be a string" })
      .optional()
      .check((ctx) => {
        // RFC 7591 §2 defaults to client_secret_basic; here absent means "none" (a public client with
        // PKCE), what MCP clients that omit it expect.
        if (ctx.value !== undefined && !(SUPPORTED_AUTH_METHODS as readonly string[]).includes(ctx.value)) {
          ctx.issues.push({
            code: "custom",
            input: ctx.value,
            message: `token_endpoint_auth_method "${clip(ctx.value, 50)}" is not supported (${AUTH_METHODS})`,
          });
        }
      }),
    scope: text("scope", LIMITS.scope)
      .refine((s) => SCOPE.test(s), { error: "scope must be space-separated scope tokens (RFC 6749 §3.3)" })
      .optional(),
    application_type: z
      .enum(["native", "web"], { error: 'application_type must be "native" or "web"' })
      .optional(),
    software_id: text("software_id", LIMITS.shortText).optional(),
    software_version: text("software_version", LIMITS.shortText).optional(),
  });
}

const defaultSchema = clientMetadataSchema();

/**
 * Parses untrusted client metadata. Never throws: returns the normalised metadata, or a rejection whose
 * `description` names every failing field (first few) and whose code follows RFC 7591 §3.2.2.
 */
export function parseClientMetadata(input: unknown, policy?: RedirectUriPolicy): Result<ClientMetadata> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return reject(
      OAuthErrorCode.InvalidClientMetadata,
      "not_an_object",
      "client metadata must be a JSON object",
    );
  }
  const schema = policy ? clientMetadataSchema(policy) : defaultSchema;
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    // RFC 7591 §3.2.2: invalid_redirect_uri when "the value of one or more redirection URIs is invalid".
    const redirect = issues.filter((i) => i.path[0] === "redirect_uris");
    const chosen = redirect.length > 0 ? redirect : issues;
    const code =
      redirect.length > 0 ? OAuthErrorCode.InvalidRedirectUri : OAuthErrorCode.InvalidClientMetadata;
    const messages = [...new Set(chosen.map((i) => i.message))];
    const description =
      messages.slice(0, 3).join("; ") + (messages.length > 3 ? ` (and ${messages.length - 3} more)` : "");
    const fields = [...new Set(issues.map((i) => String(i.path[0] ?? "")))].join(",");
    return reject(
      code,
      redirect.length > 0 ? "invalid_redirect_uri" : "invalid_client_metadata",
      description,
      `fields: ${fields}`,
    );
  }
  const m = parsed.data;
  const nativeRedirects = m.redirect_uris.some((u) => !u.startsWith("https:"));
  const metadata: ClientMetadata = {
    redirect_uris: m.redirect_uris,
    grant_types: [...new Set(m.grant_types as GrantType[])],
    response_types: ["code"],
    token_endpoint_auth_method: (m.token_endpoint_auth_method ?? "none") as TokenEndpointAuthMethod,
    // MCP 2026-07-28: native for loopback or custom-scheme redirects, web otherwise.
    application_type: m.application_type ?? (nativeRedirects ? "native" : "web"),
  };
  if (m.client_name) metadata.client_name = m.client_name;
  if (m.client_uri !== undefined) metadata.client_uri = m.client_uri;
  if (m.logo_uri !== undefined) metadata.logo_uri = m.logo_uri;
  if (m.scope !== undefined) metadata.scope = m.scope;
  if (m.software_id !== undefined) metadata.software_id = m.software_id;
  if (m.software_version !== undefined) metadata.software_version = m.software_version;
  return ok(metadata);
}
