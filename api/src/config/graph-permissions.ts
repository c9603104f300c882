/**
 * The delegated Microsoft Graph permissions this server knows, with the facts every place that names a
 * permission needs: its id in Graph's service principal (the app registration's `requiredResourceAccess`),
 * and the words a person reads (the consent page, the landing page, the consent link's page).
 *
 * Tools declare which of these they use (`mcp/tool.ts` `graphPermissions`); the server asks for exactly
 * the union of those declarations, nothing listed here by itself. A tool that needs a permission missing
 * from this table adds its row: the id is in Microsoft Graph's permissions reference
 * (https://learn.microsoft.com/graph/permissions-reference), and only permissions that users may consent
 * to themselves belong here (the server never asks for admin-only ones).
 *
 * @module
 */

export const GRAPH_RESOURCE = "https://graph.microsoft.com";

/** Microsoft Graph's application id: the `resourceAppId` of its permissions. */
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

export interface GraphPermissionInfo {
  /** The permission's id (GUID) in Microsoft Graph, as `requiredResourceAccess` names it. */
  id: string;
  /** What it lets the server do, completing "This server can …" (lowercase, no final stop). */
  allows: string;
}

export const GRAPH_PERMISSIONS = {
  "User.Read": { id: "e1fe6dd8-ba31-4d61-89e7-88639da4683d", allows: "read your profile" },
  "Mail.Read": { id: "570282fd-fa5c-430d-a7fd-fc8dc98a9dca", allows: "read your mail" },
  "Calendars.Read": { id: "465a38f9-76ea-45b9-9f34-9e8b0d4b0b42", allows: "read your calendar" },
  "People.Read": {
    id: "ba47897c-39ec-4d83-8086-ee8256fa737d",
    allows: "read the list of people you work with",
  },
} as const satisfies Record<string, GraphPermissionInfo>;

/** A delegated Graph permission by name, e.g. `"Mail.Read"`. */
export type GraphPermission = keyof typeof GRAPH_PERMISSIONS;

/**
 * The OpenID Connect permissions the proxy's sign-in asks Entra for besides its own scope; they are
 * Microsoft Graph permissions too, so the app registration lists them with the tools' ones.
 */
export const SIGN_IN_PERMISSIONS = {
  openid: "37f7f235-527c-4136-accd-4a02d197296e",
  profile: "14dad69e-099b-42c9-810b-d002981feec1",
  offline_access: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
} as const;

/** `https://graph.microsoft.com/Mail.Read`: the scope string Entra takes for a permission. */
export function graphScope(permission: GraphPermission): string {
  return `${GRAPH_RESOURCE}/${permission}`;
}

/** "read your profile and read your mail": what the permissions let the server do, in words. */
export function describeGraphPermissions(permissions: readonly GraphPermission[]): string {
  const parts = permissions.map((p) => GRAPH_PERMISSIONS[p].allows);
  if (parts.length <= 1) return parts.join("");
  return `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/** The permissions in the table's order, each once. */
export function sortGraphPermissions(permissions: Iterable<GraphPermission>): GraphPermission[] {
  const set = new Set(permissions);
  return (Object.keys(GRAPH_PERMISSIONS) as GraphPermission[]).filter((p) => set.has(p));
}
