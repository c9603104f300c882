/**
 * Every setting the server reads, from one environment record, validated once at start.
 *
 * `loadConfig(env)` throws a `ConfigError` that names each missing or bad variable. Nothing here is a
 * secret: the server proves itself to Entra with a managed identity, and key material it needs at run
 * time is generated and kept in its store, never in settings.
 *
 * @module
 */

export type AuthMode = "entra" | "proxy";

export interface Config {
  /** `proxy` (the server is the OAuth authorization server in front of Entra) or `entra` (clients go to Entra). */
  authMode: AuthMode;
  /** Origin clients reach the server at, without a trailing slash: `https://mcp.contoso.com`. */
  publicUrl: string;
  /** The MCP endpoint, `<publicUrl>/api/mcp`: the protected resource and the audience of proxy tokens. */
  resource: string;
  entra: {
    tenantId: string;
    /** `https://login.microsoftonline.com`, or the local emulator. */
    authorityHost: string;
    /** `<authorityHost>/<tenantId>/v2.0`: the only issuer accepted for Entra tokens. */
    issuer: string;
    /** The server's own app registration (its client id is the `aud` of v2 tokens for it). */
    clientId: string;
    /** `api://<clientId>` unless set: the App ID URI clients request scopes under. */
    appIdUri: string;
    /** The delegated scope the API exposes, bare (`user_impersonation`). */
    scope: string;
    /** Tenants whose users may call the server (`tid` allow-list). */
    allowedTenants: string[];
  };
  /** Client id of the user-assigned managed identity whose token is the OBO client assertion. */
  managedIdentityClientId: string;
  graph: {
    /** `https://graph.microsoft.com/v1.0`, or the local emulator. */
    baseUrl: string;
  };
  /** Origins allowed to call the MCP endpoint from a browser, besides the server's own. */
  allowedOrigins: string[];
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** Where proxy-mode state lives (see `store/index.ts`). */
  storage: {
    /** Table service endpoint: `https://<account>.table.core.windows.net`, or Azurite's on loopback. Required in proxy mode. */
    tableEndpoint: string | undefined;
    /** The one table all state shares. */
    tableName: string;
  };
  /** Proxy mode's client registration policy. */
  oauth: {
    preregisteredClients: PreregisteredClient[];
    /** Local testing only: accept `http://127.0.0.1` client ID metadata documents. */
    cimdAllowLoopbackHttp: boolean;
  };
}

export interface PreregisteredClient {
  client_id: string;
  client_name?: string;
  redirect_uris: string[];
}

export interface Setting {
  name: string;
  required: boolean;
  description: string;
  default?: string;
}

/** The settings table: what the README documents and what the Azure deployment must set. */
export const SETTINGS: readonly Setting[] = [
  {
    name: "AUTH_MODE",
    required: false,
    default: "proxy",
    description: "`proxy` or `entra` (see Auth modes).",
  },
  {
    name: "PUBLIC_URL",
    required: true,
    description: "Origin the server is reached at, e.g. `https://func-api-x.azurewebsites.net`.",
  },
  {
    name: "ENTRA_TENANT_ID",
    required: true,
    description: "Directory (tenant) id of the server's app registration.",
  },
  {
    name: "ENTRA_CLIENT_ID",
    required: true,
    description: "Application (client) id of the server's app registration.",
  },
  {
    name: "ENTRA_APP_ID_URI",
    required: false,
    default: "api://<ENTRA_CLIENT_ID>",
    description: "Application ID URI clients request scopes under.",
  },
  {
    name: "ENTRA_SCOPE",
    required: false,
    default: "user_impersonation",
    description: "Delegated scope the API exposes.",
  },
  {
    name: "ENTRA_AUTHORITY_HOST",
    required: false,
    default: "https://login.microsoftonline.com",
    description: "Entra ID host; the local emulator sets its own.",
  },
  {
    name: "ENTRA_ALLOWED_TENANTS",
    required: false,
    default: "<ENTRA_TENANT_ID>",
    description: "Comma-separated tenant ids whose users may call the server.",
  },
  {
    name: "MANAGED_IDENTITY_CLIENT_ID",
    required: true,
    description: "Client id of the user-assigned managed identity trusted by the app's federated credential.",
  },
  {
    name: "GRAPH_BASE_URL",
    required: false,
    default: "https://graph.microsoft.com/v1.0",
    description: "Microsoft Graph base URL; the local emulator sets its own.",
  },
  {
    name: "ALLOWED_ORIGINS",
    required: false,
    default: "(none)",
    description:
      "Comma-separated browser origins allowed to call the MCP endpoint, besides the server's own.",
  },
  {
    name: "MAX_BODY_BYTES",
    required: false,
    default: "1048576",
    description: "Largest request body accepted, in bytes.",
  },
  {
    name: "STORAGE_TABLE_ENDPOINT",
    required: false,
    default: "(none; required when AUTH_MODE=proxy)",
    description:
      "Table service endpoint for proxy-mode state, e.g. `https://<account>.table.core.windows.net` " +
      "(reached with the managed identity), or Azurite's `http://127.0.0.1:<port>/devstoreaccount1` locally.",
  },
  {
    name: "STORAGE_TABLE_NAME",
    required: false,
    default: "mcpstate",
    description: "Table that holds proxy-mode state (clients, codes, grants, keys); created if missing.",
  },
  {
    name: "OAUTH_CLIENTS",
    required: false,
    default: "[]",
    description:
      'Proxy mode: pre-registered clients as JSON, e.g. `[{"client_id":"my-app","client_name":"My app","redirect_uris":["https://app.example/cb"]}]`.',
  },
  {
    name: "CIMD_ALLOW_LOOPBACK_HTTP",
    required: false,
    default: "false",
    description:
      "Local testing only: accept `http://127.0.0.1` client ID metadata documents. Never enable in a deployment.",
  },
];

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses and validates the environment. Throws `ConfigError` listing every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const get = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const required = (name: string) => {
    const v = get(name);
    if (!v) problems.push(`${name} is required (${SETTINGS.find((s) => s.name === name)?.description})`);
    return v ?? "";
  };
  const guid = (name: string, value: string) => {
    if (value && !GUID.test(value)) problems.push(`${name} must be a GUID, got "${value}"`);
    return value.toLowerCase();
  };
  const url = (name: string, value: string, opts: { httpsOnly: boolean }) => {
    if (!value) return "";
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      problems.push(`${name} must be an absolute URL, got "${value}"`);
      return "";
    }
    const loopback = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
    if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback && !opts.httpsOnly)) {
      problems.push(`${name} must use https (http is allowed only on loopback), got "${value}"`);
    }
    if (u.search || u.hash) problems.push(`${name} must not have a query or fragment, got "${value}"`);
    return value.replace(/\/+$/, "");
  };

  const authModeRaw = get("AUTH_MODE") ?? "proxy";
  if (authModeRaw !== "entra" && authModeRaw !== "proxy") {
    problems.push(`AUTH_MODE must be "proxy" or "entra", got "${authModeRaw}"`);
  }
  const publicUrl = url("PUBLIC_URL", required("PUBLIC_URL"), { httpsOnly: false });
  if (publicUrl && new URL(publicUrl).pathname !== "/") {
    problems.push(`PUBLIC_URL must be an origin without a path, got "${publicUrl}"`);
  }
  const tenantId = guid("ENTRA_TENANT_ID", required("ENTRA_TENANT_ID"));
  const clientId = guid("ENTRA_CLIENT_ID", required("ENTRA_CLIENT_ID"));
  const miClientId = guid("MANAGED_IDENTITY_CLIENT_ID", required("MANAGED_IDENTITY_CLIENT_ID"));
  // @azure/identity refuses an http authority, so the emulator speaks https too.
  const authorityHost = url(
    "ENTRA_AUTHORITY_HOST",
    get("ENTRA_AUTHORITY_HOST") ?? "https://login.microsoftonline.com",
    {
      httpsOnly: true,
    },
  );
  const graphBaseUrl = url("GRAPH_BASE_URL", get("GRAPH_BASE_URL") ?? "https://graph.microsoft.com/v1.0", {
    httpsOnly: true,
  });
  const scope = get("ENTRA_SCOPE") ?? "user_impersonation";
  if (!/^[A-Za-z0-9._-]+$/.test(scope))
    problems.push(`ENTRA_SCOPE must be a bare scope name, got "${scope}"`);
  const appIdUri = (get("ENTRA_APP_ID_URI") ?? `api://${clientId}`).replace(/\/+$/, "");
  const allowedTenants = (get("ENTRA_ALLOWED_TENANTS") ?? tenantId)
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
  for (const t of allowedTenants) guid("ENTRA_ALLOWED_TENANTS", t);
  const allowedOrigins = (get("ALLOWED_ORIGINS") ?? "")
    .split(",")
    .map((o) => o.trim().replace(/\/+$/, ""))
    .filter(Boolean);
  for (const o of allowedOrigins) {
    try {
      if (new URL(o).origin !== o) problems.push(`ALLOWED_ORIGINS entry "${o}" is not an origin`);
    } catch {
      problems.push(`ALLOWED_ORIGINS entry "${o}" is not an origin`);
    }
  }
  const maxBodyBytes = Number(get("MAX_BODY_BYTES") ?? 1_048_576);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) {
    problems.push(`MAX_BODY_BYTES must be an integer of at least 1024, got "${get("MAX_BODY_BYTES")}"`);
  }

  const tableEndpointRaw = get("STORAGE_TABLE_ENDPOINT");
  if (!tableEndpointRaw && authModeRaw === "proxy") {
    problems.push(
      "STORAGE_TABLE_ENDPOINT is required when AUTH_MODE=proxy (the authorization server keeps its state in Table Storage)",
    );
  }
  const tableEndpoint = tableEndpointRaw
    ? url("STORAGE_TABLE_ENDPOINT", tableEndpointRaw, { httpsOnly: false })
    : undefined;
  const tableName = get("STORAGE_TABLE_NAME") ?? "mcpstate";
  // Azure table names: alphanumeric, 3 to 63 characters, not starting with a digit.
  if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(tableName)) {
    problems.push(
      `STORAGE_TABLE_NAME must be 3-63 letters and digits, starting with a letter, got "${tableName}"`,
    );
  }

  const preregisteredClients: PreregisteredClient[] = [];
  const clientsRaw = get("OAUTH_CLIENTS");
  if (clientsRaw) {
    try {
      const parsed = JSON.parse(clientsRaw) as unknown;
      if (!Array.isArray(parsed)) throw new Error("not an array");
      for (const c of parsed as PreregisteredClient[]) {
        if (
          typeof c?.client_id !== "string" ||
          !Array.isArray(c.redirect_uris) ||
          !c.redirect_uris.every((u) => typeof u === "string")
        ) {
          throw new Error("each client needs a client_id string and a redirect_uris array");
        }
        preregisteredClients.push({
          client_id: c.client_id,
          client_name: c.client_name,
          redirect_uris: c.redirect_uris,
        });
      }
    } catch (err) {
      problems.push(`OAUTH_CLIENTS must be a JSON array of clients: ${(err as Error).message}`);
    }
  }
  const cimdLoopback = get("CIMD_ALLOW_LOOPBACK_HTTP") ?? "false";
  if (cimdLoopback !== "true" && cimdLoopback !== "false") {
    problems.push(`CIMD_ALLOW_LOOPBACK_HTTP must be "true" or "false", got "${cimdLoopback}"`);
  }

  if (problems.length) throw new ConfigError(problems);
  return {
    authMode: authModeRaw as AuthMode,
    publicUrl,
    resource: `${publicUrl}/api/mcp`,
    entra: {
      tenantId,
      authorityHost,
      issuer: `${authorityHost}/${tenantId}/v2.0`,
      clientId,
      appIdUri,
      scope,
      allowedTenants,
    },
    managedIdentityClientId: miClientId,
    graph: { baseUrl: graphBaseUrl },
    allowedOrigins,
    maxBodyBytes,
    storage: { tableEndpoint: tableEndpoint || undefined, tableName },
    oauth: { preregisteredClients, cimdAllowLoopbackHttp: cimdLoopback === "true" },
  };
}
