/**
 * Every setting the server reads, from one environment record, validated once at start.
 *
 * One schema (`ENV`) says, for each environment variable, what it means, whether it is required, its
 * default and how it is checked; the settings table (`SETTINGS`, which the README and the deployment's
 * checks follow), the defaults, the validation and the `Config` type all come from it.
 *
 * `loadConfig(env)` throws a `ConfigError` that names each missing or bad variable. Nothing here is a
 * secret: the server proves itself to Entra with a managed identity, and key material it needs at run
 * time is generated and kept in its store, never in settings.
 *
 * @module
 */
import * as z from "zod";
import { isLoopbackHost } from "../core/loopback.ts";
import { MCP_PATH } from "./paths.ts";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const guid = z
  .string()
  .refine((v) => GUID.test(v), { error: (i) => `must be a GUID, got "${i.input}"` })
  .transform((v) => v.toLowerCase());

const guidList = z
  .string()
  .transform((v) =>
    v
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  )
  .pipe(z.array(guid));

/** An absolute URL without query or fragment, trailing slashes dropped; http only on loopback unless `httpsOnly`. */
function baseUrl(opts: { httpsOnly: boolean }) {
  return z.string().transform((value, ctx) => {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: `must be an absolute URL, got "${value}"` });
      return z.NEVER;
    }
    const loopbackHttp = u.protocol === "http:" && isLoopbackHost(u.hostname) && !opts.httpsOnly;
    if (u.protocol !== "https:" && !loopbackHttp) {
      ctx.addIssue({
        code: "custom",
        message: `must use https (http is allowed only on loopback), got "${value}"`,
      });
    }
    if (u.search || u.hash)
      ctx.addIssue({ code: "custom", message: `must not have a query or fragment, got "${value}"` });
    return value.replace(/\/+$/, "");
  });
}

const preregisteredClient = z.object({
  client_id: z.string(),
  client_name: z.string().optional(),
  redirect_uris: z.array(z.string()),
});

export type PreregisteredClient = z.output<typeof preregisteredClient>;

const preregisteredClients = z.string().transform((v, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `must be a JSON array of clients: ${(err as Error).message}` });
    return z.NEVER;
  }
  const clients = z.array(preregisteredClient).safeParse(parsed);
  if (!clients.success) {
    ctx.addIssue({
      code: "custom",
      message: Array.isArray(parsed)
        ? "must be a JSON array of clients: each client needs a client_id string and a redirect_uris array"
        : "must be a JSON array of clients: not an array",
    });
    return z.NEVER;
  }
  return clients.data.map((c) => ({
    client_id: c.client_id,
    client_name: c.client_name,
    redirect_uris: c.redirect_uris,
  }));
});

interface SettingSpec<S extends z.ZodType> {
  description: string;
  /** Required settings have no default. */
  required?: true;
  /** The value used when the variable is unset, as the table shows it. */
  default?: string;
  /** What the table shows when the default is derived from other settings (no value is applied here). */
  derived?: string;
  schema: S;
}

function setting<const T extends SettingSpec<z.ZodType>>(spec: T): T {
  return spec;
}

/** Every environment variable the server reads, in the order the README's table lists them. */
const ENV = {
  AUTH_MODE: setting({
    default: "proxy",
    description: "`proxy` or `entra` (see Auth modes).",
    schema: z.enum(["proxy", "entra"], { error: (i) => `must be "proxy" or "entra", got "${i.input}"` }),
  }),
  PUBLIC_URL: setting({
    required: true,
    description: "Origin the server is reached at, e.g. `https://func-api-x.azurewebsites.net`.",
    schema: baseUrl({ httpsOnly: false }).refine((v) => new URL(v).pathname === "/", {
      error: (i) => `must be an origin without a path, got "${i.input}"`,
    }),
  }),
  ENTRA_TENANT_ID: setting({
    required: true,
    description: "Directory (tenant) id of the server's app registration.",
    schema: guid,
  }),
  ENTRA_CLIENT_ID: setting({
    required: true,
    description: "Application (client) id of the server's app registration.",
    schema: guid,
  }),
  ENTRA_APP_ID_URI: setting({
    derived: "api://<ENTRA_CLIENT_ID>",
    description: "Application ID URI clients request scopes under.",
    schema: z.string().transform((v) => v.replace(/\/+$/, "")),
  }),
  ENTRA_SCOPE: setting({
    default: "user_impersonation",
    description: "Delegated scope the API exposes.",
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, { error: (i) => `must be a bare scope name, got "${i.input}"` }),
  }),
  ENTRA_AUTHORITY_HOST: setting({
    default: "https://login.microsoftonline.com",
    description: "Entra ID host; the local emulator sets its own.",
    // @azure/identity refuses an http authority, so the emulator speaks https too.
    schema: baseUrl({ httpsOnly: true }),
  }),
  ENTRA_BROWSER_AUTHORITY_HOST: setting({
    derived: "<ENTRA_AUTHORITY_HOST>",
    description:
      "Entra ID host for the pages a person sees (sign-in, consent): where the proxy sends browsers. The local emulator serves them on plain HTTP loopback, so no certificate warning shows.",
    // A browser needs no CA for a loopback page; anywhere else it must be https.
    schema: baseUrl({ httpsOnly: false }),
  }),
  ENTRA_ALLOWED_TENANTS: setting({
    derived: "<ENTRA_TENANT_ID>",
    description: "Comma-separated tenant ids whose users may call the server.",
    schema: guidList,
  }),
  MANAGED_IDENTITY_CLIENT_ID: setting({
    required: true,
    description: "Client id of the user-assigned managed identity trusted by the app's federated credential.",
    schema: guid,
  }),
  GRAPH_BASE_URL: setting({
    default: "https://graph.microsoft.com/v1.0",
    description: "Microsoft Graph base URL; the local emulator sets its own.",
    schema: baseUrl({ httpsOnly: true }),
  }),
  GRAPH_ADMIN_CONSENT: setting({
    default: "false",
    description:
      "`true` when an administrator granted the server's Microsoft Graph permissions for the whole tenant; otherwise the proxy's sign-in asks each user to consent to them up front.",
    schema: z
      .enum(["true", "false"], { error: (i) => `must be "true" or "false", got "${i.input}"` })
      .transform((v) => v === "true"),
  }),
  ALLOWED_ORIGINS: setting({
    default: "",
    derived: "(none)",
    description:
      "Comma-separated browser origins allowed to call the MCP endpoint, besides the server's own.",
    schema: z.string().transform((v, ctx) => {
      const origins = v
        .split(",")
        .map((o) => o.trim().replace(/\/+$/, ""))
        .filter(Boolean);
      for (const o of origins) {
        if (!URL.canParse(o) || new URL(o).origin !== o)
          ctx.addIssue({ code: "custom", message: `entry "${o}" is not an origin` });
      }
      return origins;
    }),
  }),
  MAX_BODY_BYTES: setting({
    default: "1048576",
    description: "Largest request body accepted, in bytes.",
    schema: z.string().transform((v, ctx) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1024)
        ctx.addIssue({ code: "custom", message: `must be an integer of at least 1024, got "${v}"` });
      return n;
    }),
  }),
  STORAGE_TABLE_ENDPOINT: setting({
    derived: "(none; required when AUTH_MODE=proxy)",
    description:
      "Table service endpoint for proxy-mode state, e.g. `https://<account>.table.core.windows.net` " +
      "(reached with the managed identity), or Azurite's `http://127.0.0.1:<port>/devstoreaccount1` locally.",
    schema: baseUrl({ httpsOnly: false }),
  }),
  STORAGE_TABLE_NAME: setting({
    default: "mcpstate",
    description: "Table that holds proxy-mode state (clients, codes, grants, keys); created if missing.",
    // Azure table names: alphanumeric, 3 to 63 characters, not starting with a digit.
    schema: z.string().regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, {
      error: (i) => `must be 3-63 letters and digits, starting with a letter, got "${i.input}"`,
    }),
  }),
  OAUTH_CLIENTS: setting({
    default: "[]",
    description:
      'Proxy mode: pre-registered clients as JSON, e.g. `[{"client_id":"my-app","client_name":"My app","redirect_uris":["https://app.example/cb"]}]`.',
    schema: preregisteredClients,
  }),
  CIMD_ALLOW_LOOPBACK_HTTP: setting({
    default: "false",
    description:
      "Local testing only: accept `http://127.0.0.1` client ID metadata documents. Never enable in a deployment.",
    schema: z
      .enum(["true", "false"], { error: (i) => `must be "true" or "false", got "${i.input}"` })
      .transform((v) => v === "true"),
  }),
};

type Env = typeof ENV;
type Name = keyof Env;
/** Each variable's parsed value: always there when it is required or has a default. */
type Parsed = {
  [K in Name]: Env[K] extends { required: true } | { default: string }
    ? z.output<Env[K]["schema"]>
    : z.output<Env[K]["schema"]> | undefined;
};

export interface Setting {
  name: string;
  required: boolean;
  description: string;
  default?: string;
}

/** The settings table: what the README documents and what the Azure deployment must set. */
export const SETTINGS: readonly Setting[] = Object.entries(ENV).map(
  ([name, s]: [string, SettingSpec<z.ZodType>]) => ({
    name,
    required: s.required === true,
    description: s.description,
    ...((s.derived ?? s.default) !== undefined ? { default: s.derived ?? s.default } : {}),
  }),
);

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Parses and validates the environment. Throws `ConfigError` listing every problem at once. */
export function loadConfig(env: Record<string, string | undefined>) {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(ENV) as [Name, SettingSpec<z.ZodType>][]) {
    const raw = env[name]?.trim() || s.default;
    if (raw === undefined) {
      if (s.required) problems.push(`${name} is required (${s.description})`);
      continue;
    }
    const parsed = s.schema.safeParse(raw);
    if (parsed.success) values[name] = parsed.data;
    else for (const issue of parsed.error.issues) problems.push(`${name} ${issue.message}`);
  }
  const v = values as Parsed;
  if (v.AUTH_MODE === "proxy" && !env.STORAGE_TABLE_ENDPOINT?.trim()) {
    problems.unshift(
      "STORAGE_TABLE_ENDPOINT is required when AUTH_MODE=proxy (the authorization server keeps its state in Table Storage)",
    );
  }
  if (problems.length) throw new ConfigError(problems);

  const publicUrl = v.PUBLIC_URL;
  const origin = new URL(publicUrl);
  const authorityHost = v.ENTRA_AUTHORITY_HOST;
  const tenantId = v.ENTRA_TENANT_ID;
  const allowedTenants = v.ENTRA_ALLOWED_TENANTS ?? [tenantId];
  return {
    /** `proxy` (the server is the OAuth authorization server in front of Entra) or `entra` (clients go to Entra). */
    authMode: v.AUTH_MODE,
    /** Origin clients reach the server at, without a trailing slash: `https://mcp.contoso.com`. */
    publicUrl,
    /** `publicUrl` taken apart once: what the Host, Origin and cookie checks compare with. */
    publicOrigin: { origin: origin.origin, hostname: origin.hostname, secure: origin.protocol === "https:" },
    /** The MCP endpoint, `<publicUrl>/api/mcp`: the protected resource and the audience of proxy tokens. */
    resource: `${publicUrl}${MCP_PATH}`,
    entra: {
      tenantId,
      /** `https://login.microsoftonline.com`, or the local emulator. */
      authorityHost,
      /** Where browsers are sent to sign in (the authorize endpoint, the consent link): `authorityHost` unless set. */
      browserAuthorityHost: v.ENTRA_BROWSER_AUTHORITY_HOST ?? authorityHost,
      /** `<authorityHost>/<tenantId>/v2.0`: the home tenant's issuer (Entra-direct mode's authorization server). */
      issuer: `${authorityHost}/${tenantId}/v2.0`,
      /** The issuers accepted for Entra tokens: `<authorityHost>/<tid>/v2.0` for each allowed tenant. */
      issuers: allowedTenants.map((tid) => `${authorityHost}/${tid}/v2.0`),
      /**
       * The tenant segment of the authority people sign in at: the home tenant, or `organizations` when
       * users of other tenants may sign in (a multi-tenant app registration, `AzureADMultipleOrgs`).
       */
      signInTenant: allowedTenants.some((tid) => tid !== tenantId) ? "organizations" : tenantId,
      /** The server's own app registration (its client id is the `aud` of v2 tokens for it). */
      clientId: v.ENTRA_CLIENT_ID,
      /** The App ID URI clients request scopes under. */
      appIdUri: v.ENTRA_APP_ID_URI ?? `api://${v.ENTRA_CLIENT_ID}`,
      /** The delegated scope the API exposes, bare (`user_impersonation`). */
      scope: v.ENTRA_SCOPE,
      /** Tenants whose users may call the server (`tid` allow-list). */
      allowedTenants,
    },
    /** Client id of the user-assigned managed identity whose token is the OBO client assertion. */
    managedIdentityClientId: v.MANAGED_IDENTITY_CLIENT_ID,
    graph: {
      baseUrl: v.GRAPH_BASE_URL,
      /** An administrator granted the server's Graph permissions for the whole tenant (no per-user consent). */
      adminConsent: v.GRAPH_ADMIN_CONSENT,
    },
    /** Origins allowed to call the MCP endpoint from a browser, besides the server's own. */
    allowedOrigins: v.ALLOWED_ORIGINS,
    /** Largest accepted request body, in bytes. */
    maxBodyBytes: v.MAX_BODY_BYTES,
    /** Where proxy-mode state lives (see `store/index.ts`): one table. */
    storage: { tableEndpoint: v.STORAGE_TABLE_ENDPOINT, tableName: v.STORAGE_TABLE_NAME },
    oauth: {
      preregisteredClients: v.OAUTH_CLIENTS,
      cimdAllowLoopbackHttp: v.CIMD_ALLOW_LOOPBACK_HTTP,
    },
  };
}

export type Config = ReturnType<typeof loadConfig>;
export type AuthMode = Config["authMode"];
