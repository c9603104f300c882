/**
 * The Graph permissions the server needs: the union of what its tools declare. Every other place that
 * names them (sign-in consent, consent links, landing page, consent page, `npm run permissions`, the app
 * registration in Bicep) is built from this list.
 *
 * @module
 */
import {
  GRAPH_APP_ID,
  GRAPH_PERMISSIONS,
  type GraphPermission,
  SIGN_IN_PERMISSIONS,
  sortGraphPermissions,
} from "../config/graph-permissions.ts";
import type { ToolDefinition } from "./tool.ts";

/** Every permission the tools declare, each once, in the catalogue's order. */
export function graphPermissionsOf(
  tools: readonly Pick<ToolDefinition, "graphPermissions">[],
): GraphPermission[] {
  return sortGraphPermissions(tools.flatMap((t) => t.graphPermissions));
}

/**
 * The app registration's Graph permissions, as `infra/app/graph-permissions.json` holds them for Bicep
 * (`loadJsonContent`): `requiredResourceAccess` for the tools' permissions and the sign-in's OpenID
 * Connect ones, and the scope string of the optional tenant-wide admin consent.
 */
/** `infra/app/graph-permissions.json` as `npm run permissions -- --write` writes it. */
export function appRegistrationPermissionsJson(permissions: readonly GraphPermission[]): string {
  return `${JSON.stringify(appRegistrationPermissions(permissions), null, 2)}\n`;
}

export function appRegistrationPermissions(permissions: readonly GraphPermission[]) {
  const signIn = Object.keys(SIGN_IN_PERMISSIONS) as (keyof typeof SIGN_IN_PERMISSIONS)[];
  return {
    requiredResourceAccess: [
      {
        resourceAppId: GRAPH_APP_ID,
        resourceAccess: [
          ...permissions.map((p) => ({ id: GRAPH_PERMISSIONS[p].id, type: "Scope" })),
          ...signIn.map((p) => ({ id: SIGN_IN_PERMISSIONS[p], type: "Scope" })),
        ],
      },
    ],
    adminConsentScope: [...permissions, ...signIn].join(" "),
  };
}
