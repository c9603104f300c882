// Seed data for the emulated tenant (synthetic GUIDs, stable across runs) and the consent model.
import { solidGreyJpeg } from "./jpeg.ts";

export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
export const GRAPH_RESOURCE = "https://graph.microsoft.com";
export const TOKEN_EXCHANGE_APP_ID = "fb60f99c-7a34-4190-8149-302f77469936";
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
export const OIDC_SCOPES = new Set(["openid", "profile", "email", "offline_access"]);
/** Delegated Graph permissions the emulator knows (a bare scope resolves to Graph). */
export const GRAPH_SCOPES = [
  "User.Read",
  "User.ReadBasic.All",
  "User.Read.All",
  "Mail.ReadBasic",
  "Mail.Read",
  "Calendars.ReadBasic",
  "Calendars.Read",
  "People.Read",
  "Files.Read",
];

export interface User {
  id: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  jobTitle: string | null;
  mobilePhone: string | null;
  officeLocation: string | null;
  preferredLanguage: string | null;
  businessPhones: string[];
  department: string | null;
  companyName: string | null;
  city: string | null;
  country: string | null;
  usageLocation: string | null;
  employeeId: string | null;
  accountEnabled: boolean;
  photo: Uint8Array | null;
}

export interface AppRole {
  id: string;
  value: string;
  displayName: string;
  allowedMemberTypes: Array<"User" | "Application">;
}

export interface FederatedCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface AppRegistration {
  clientId: string;
  /** Service principal object id (oid/sub of app-only tokens). */
  objectId: string;
  displayName: string;
  /** Confidential clients have "web" redirect URIs and must authenticate at /token. */
  kind: "confidential" | "public";
  redirectUris: string[];
  appIdUri?: string;
  /** Delegated scopes this app exposes (bare names). */
  exposedScopes: string[];
  /** Static (required) delegated permissions, fully qualified; what `.default` and grantConsent cover. */
  requiredScopes: string[];
  /** clientId → exposed scope names pre-authorized for that client (no consent prompt). */
  preAuthorized: Record<string, string[]>;
  /** App roles it declares (`appRoles` in the manifest); users assigned one get it in `roles`. */
  appRoles: AppRole[];
  federatedCredentials: FederatedCredential[];
}

export const TENANT_ID = "4c7e1f2a-8b3d-4e5f-9a6b-7c8d9e0f1a2b";
export const TENANT_DOMAIN = "contoso.onmicrosoft.com";

export const MANAGED_IDENTITY = {
  clientId: "8e2d4f6a-1b3c-4d5e-8f7a-9b0c1d2e3f4a",
  principalId: "2a4c6e8f-0b1d-4f3a-8c5e-7d9f1b3d5f7a",
  resourceId:
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-entra-mcp/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-entra-mcp",
};

export function seedApps(issuer: string): { api: AppRegistration; publicClient: AppRegistration } {
  const apiId = "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
  const publicId = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";
  const api: AppRegistration = {
    clientId: apiId,
    objectId: "0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b",
    displayName: "Entra MCP Server (emulated)",
    kind: "confidential",
    redirectUris: [],
    appIdUri: `api://${apiId}`,
    exposedScopes: ["user_impersonation"],
    // The server's registration asks for the permissions its tools declare (infra/app/graph-permissions.json).
    requiredScopes: ["User.Read", "Mail.Read", "Calendars.Read", "People.Read"].map(
      (s) => `${GRAPH_RESOURCE}/${s}`,
    ),
    preAuthorized: { [publicId]: ["user_impersonation"] },
    // As declared in infra/app/entra.bicep.
    appRoles: [
      {
        id: "b2f0c6d4-3e1a-4c5b-9d7e-8f6a5b4c3d2e",
        value: "MCP.Admin",
        displayName: "MCP server administrator",
        allowedMemberTypes: ["User"],
      },
    ],
    federatedCredentials: [
      {
        name: "mcp-server-uami",
        issuer,
        subject: MANAGED_IDENTITY.principalId,
        audiences: [TOKEN_EXCHANGE_AUDIENCE],
      },
    ],
  };
  const publicClient: AppRegistration = {
    clientId: publicId,
    objectId: "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
    displayName: "Emulated MCP client (public, pre-authorized)",
    kind: "public",
    // Loopback URIs: the port is ignored when matching (RFC 8252 §7.3), the path is not.
    redirectUris: [
      "http://127.0.0.1",
      "http://localhost",
      "http://127.0.0.1/callback",
      "http://localhost/callback",
    ],
    exposedScopes: [],
    requiredScopes: [`${api.appIdUri}/user_impersonation`],
    preAuthorized: {},
    appRoles: [],
    federatedCredentials: [],
  };
  return { api, publicClient };
}

function user(p: Partial<User> & Pick<User, "id" | "userPrincipalName" | "displayName">): User {
  return {
    givenName: null,
    surname: null,
    mail: null,
    jobTitle: null,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    businessPhones: [],
    department: null,
    companyName: null,
    city: null,
    country: null,
    usageLocation: null,
    employeeId: null,
    accountEnabled: true,
    photo: null,
    ...p,
  };
}

export function seedUsers(): User[] {
  return [
    user({
      id: "7b3e9c1d-2f4a-4b6c-8d0e-1f2a3b4c5d6e",
      userPrincipalName: `AdeleV@${TENANT_DOMAIN}`,
      displayName: "Adele Vance",
      givenName: "Adele",
      surname: "Vance",
      mail: `AdeleV@${TENANT_DOMAIN}`,
      jobTitle: "Retail Manager",
      officeLocation: "18/2111",
      preferredLanguage: "en-US",
      businessPhones: ["+1 425 555 0109"],
      department: "Retail",
      companyName: "Contoso",
      city: "Bellevue",
      country: "United States",
      usageLocation: "US",
      employeeId: "1001",
      photo: solidGreyJpeg(48, 200),
    }),
    user({
      id: "3d5f7b9e-1a2c-4e4f-9b6d-8f0a2c4e6b8d",
      userPrincipalName: `AlexW@${TENANT_DOMAIN}`,
      displayName: "Alex Wilber",
      givenName: "Alex",
      surname: "Wilber",
      mail: `AlexW@${TENANT_DOMAIN}`,
      jobTitle: "Marketing Assistant",
      preferredLanguage: "en-US",
      businessPhones: [],
      department: "Marketing",
      companyName: "Contoso",
      city: "Tulsa",
      country: "United States",
      usageLocation: "US",
      employeeId: "1002",
    }),
  ];
}

export type ScopeRef =
  | { kind: "oidc"; name: string }
  | { kind: "resource"; resource: Resource; name: string; requested: string; resourceUri: string };

export interface Resource {
  /** App id of the resource service principal. */
  appId: string;
  /** URI forms that name this resource (App ID URI(s) and the GUID). */
  uris: string[];
  scopes: string[];
  /** "v1" (Graph-style) or "v2" (custom API with requestedAccessTokenVersion 2). */
  tokenVersion: "v1" | "v2";
  displayName: string;
}

export function resources(api: AppRegistration): Resource[] {
  return [
    {
      appId: GRAPH_APP_ID,
      uris: [GRAPH_RESOURCE, GRAPH_APP_ID],
      scopes: GRAPH_SCOPES,
      tokenVersion: "v1",
      displayName: "Microsoft Graph",
    },
    {
      appId: api.clientId,
      uris: [api.appIdUri!, api.clientId],
      scopes: api.exposedScopes,
      tokenVersion: "v2",
      displayName: api.displayName,
    },
  ];
}

/** Splits a requested scope into OIDC or (resource, scope name); null if the resource is unknown. */
export function resolveScope(scope: string, all: Resource[]): ScopeRef | null {
  if (OIDC_SCOPES.has(scope)) return { kind: "oidc", name: scope };
  const slash = scope.lastIndexOf("/");
  const resourceUri = slash > 0 ? scope.slice(0, slash) : GRAPH_RESOURCE;
  const name = slash > 0 ? scope.slice(slash + 1) : scope;
  const resource = all.find((r) => r.uris.includes(resourceUri));
  if (!resource) return null;
  return { kind: "resource", resource, name, requested: scope, resourceUri };
}

/** The fully qualified form used in consent records and token responses. */
export function fullScope(resource: Resource, name: string): string {
  return `${resource.uris[0]}/${name}`;
}

export class ConsentStore {
  #grants = new Map<string, Set<string>>();

  grant(oid: string, clientId: string, scopes: string[]): void {
    const key = `${oid} ${clientId}`;
    const set = this.#grants.get(key) ?? new Set<string>();
    for (const s of scopes) set.add(s);
    this.#grants.set(key, set);
  }

  /** Revokes `scopes` (fully qualified), or every permission the user granted the client. */
  revoke(oid: string, clientId: string, scopes?: string[]): void {
    if (!scopes) {
      this.#grants.delete(`${oid} ${clientId}`);
      return;
    }
    for (const s of scopes) this.#grants.get(`${oid} ${clientId}`)?.delete(s);
  }

  list(oid: string, clientId: string): string[] {
    return [...(this.#grants.get(`${oid} ${clientId}`) ?? [])];
  }

  has(oid: string, clientId: string, scope: string): boolean {
    return this.#grants.get(`${oid} ${clientId}`)?.has(scope) ?? false;
  }
}

/** App role assignments of users: (user, resource app) → role values, as Entra puts them in `roles`. */
export class AppRoleAssignments {
  #roles = new Map<string, Set<string>>();

  assign(oid: string, app: AppRegistration, value: string): void {
    const role = app.appRoles.find((r) => r.value === value);
    if (!role) throw new Error(`${app.displayName} declares no app role "${value}"`);
    if (!role.allowedMemberTypes.includes("User"))
      throw new Error(`app role "${value}" cannot be assigned to users`);
    const key = `${oid} ${app.clientId}`;
    this.#roles.set(key, (this.#roles.get(key) ?? new Set()).add(value));
  }

  remove(oid: string, app: AppRegistration, value?: string): void {
    const key = `${oid} ${app.clientId}`;
    if (value === undefined) this.#roles.delete(key);
    else this.#roles.get(key)?.delete(value);
  }

  /** The role values assigned to the user on the app, in the app's declaration order. */
  of(oid: string, app: AppRegistration): string[] {
    const set = this.#roles.get(`${oid} ${app.clientId}`);
    return set ? app.appRoles.map((r) => r.value).filter((v) => set.has(v)) : [];
  }
}
