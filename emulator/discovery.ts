// OIDC discovery (v2 and v1) and JWKS, per reference §1–§2.
import { randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import { applyFault } from "./faults.ts";
import { entraErrorResponse, entraFaultResponse, json, sleep } from "./http.ts";
import type { State } from "./state.ts";

export type TenantKind = "tenant" | "alias";

/** The tenant GUID or its domain → "tenant"; common/organizations/consumers → "alias". */
export function tenantKind(state: State, segment: string): TenantKind | null {
  const s = segment.toLowerCase();
  if (s === state.tenantId || s === state.tenantDomain.toLowerCase()) return "tenant";
  if (s === "common" || s === "organizations" || s === "consumers") return "alias";
  return null;
}

const DISCOVERY_HEADERS = {
  "Cache-Control": "max-age=86400, private",
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "GET, OPTIONS",
};

/**
 * The tenant's OIDC document. The endpoints a browser opens (`authorization_endpoint`,
 * `end_session_endpoint`) are on the plain-HTTP loopback listener, so no page a person sees needs
 * the local CA; the issuer and every endpoint an SDK calls stay on HTTPS.
 */
export function discoveryDocument(state: State, segment: string, kind: TenantKind): Record<string, unknown> {
  const base = `${state.authorityHost}/${segment}`;
  const pages = `${state.browserAuthorityHost || state.authorityHost}/${segment}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: kind === "tenant" ? state.issuer : `${state.authorityHost}/{tenantid}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
    authorization_endpoint: `${pages}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${pages}/oauth2/v2.0/logout`,
    claims_supported: [
      "sub",
      "iss",
      "cloud_instance_name",
      "cloud_instance_host_name",
      "cloud_graph_host_name",
      "msgraph_host",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "nonce",
      "preferred_username",
      "name",
      "tid",
      "ver",
      "at_hash",
      "c_hash",
      "email",
    ],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: kind === "tenant" ? "WW" : null,
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
    rbac_url: "https://pas.windows.net",
  };
}

function v1Document(state: State, segment: string, kind: TenantKind): Record<string, unknown> {
  const base = `${state.authorityHost}/${segment}`;
  const pages = `${state.browserAuthorityHost || state.authorityHost}/${segment}`;
  const doc = discoveryDocument(state, segment, kind);
  return {
    ...doc,
    token_endpoint: `${base}/oauth2/token`,
    jwks_uri: `${base}/discovery/keys`,
    issuer: kind === "tenant" ? state.v1Issuer : "https://sts.windows.net/{tenantid}/",
    authorization_endpoint: `${pages}/oauth2/authorize`,
    device_authorization_endpoint: `${base}/oauth2/devicecode`,
    end_session_endpoint: `${pages}/oauth2/logout`,
  };
}

export function mountDiscovery(app: Hono, state: State): void {
  const unknownTenant = (segment: string, kind: string, cid?: string) =>
    entraErrorResponse(state, kind, 90002, { tenant: segment }, cid);

  const faulted = (c: Context, kind: "discovery" | "jwks") =>
    applyFault(state.faultSet, c, kind, (status, retryAfter) =>
      entraFaultResponse(state, kind, status, retryAfter, undefined),
    );

  app.use("*", async (c, next) => {
    const path = c.req.path;
    const kind = path.includes("/discovery/") ? "jwks" : path.includes(".well-known") ? "discovery" : "";
    const delay = kind ? state.takeDelay(kind) : 0;
    if (delay) await sleep(delay);
    await next();
  });

  app.get("/:tenant/v2.0/.well-known/openid-configuration", async (c) => {
    state.count("discovery");
    const injected = await faulted(c, "discovery");
    if (injected) return injected;
    const segment = c.req.param("tenant");
    const kind = tenantKind(state, segment);
    if (!kind) return unknownTenant(segment, "discovery");
    return json(discoveryDocument(state, segment, kind), 200, {
      ...DISCOVERY_HEADERS,
      "x-ms-request-id": randomUUID(),
    });
  });

  app.get("/:tenant/.well-known/openid-configuration", async (c) => {
    state.count("discovery");
    const injected = await faulted(c, "discovery");
    if (injected) return injected;
    const segment = c.req.param("tenant");
    const kind = tenantKind(state, segment);
    if (!kind) return unknownTenant(segment, "discovery");
    return json(v1Document(state, segment, kind), 200, {
      ...DISCOVERY_HEADERS,
      "x-ms-request-id": randomUUID(),
    });
  });

  const keys = (v2: boolean) =>
    state.keys.map((k) =>
      v2 ? { ...k.jwk, issuer: `${state.authorityHost}/{tenantid}/v2.0` } : { ...k.jwk },
    );

  app.get("/:tenant/discovery/v2.0/keys", async (c) => {
    state.count("jwks");
    const injected = await faulted(c, "jwks");
    if (injected) return injected;
    if (!tenantKind(state, c.req.param("tenant"))) return unknownTenant(c.req.param("tenant"), "jwks");
    return json({ keys: keys(true) }, 200, { ...DISCOVERY_HEADERS, "x-ms-request-id": randomUUID() });
  });

  app.get("/:tenant/discovery/keys", async (c) => {
    state.count("jwks");
    const injected = await faulted(c, "jwks");
    if (injected) return injected;
    if (!tenantKind(state, c.req.param("tenant"))) return unknownTenant(c.req.param("tenant"), "jwks");
    return json({ keys: keys(false) }, 200, { ...DISCOVERY_HEADERS, "x-ms-request-id": randomUUID() });
  });
}
