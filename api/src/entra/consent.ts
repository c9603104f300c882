/**
 * The consent link for Graph permissions, and the page Entra ID returns to after a user (or an
 * administrator) grants them from the link (`consentUrl`). The link asks for exactly the permissions it
 * is given: all the tools' ones on the landing page, one tool's missing ones in a `consent_required` error.
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import {
  describeGraphPermissions,
  GRAPH_PERMISSIONS,
  type GraphPermission,
  graphScope,
  sortGraphPermissions,
} from "../config/graph-permissions.ts";
import { CONSENT_COMPLETE_PATH, entraUrl } from "../config/paths.ts";
import { escapeHtml } from "../core/html.ts";
import { page } from "../core/page.ts";

/**
 * The link a user opens to grant `permissions` to this server in their tenant. `state` carries the
 * permission names back to the completion page, which names them (it is not a secret: the page only
 * shows known names from it).
 */
export function consentUrl(
  config: Pick<Config, "entra" | "publicUrl">,
  permissions: readonly GraphPermission[],
): string {
  const u = entraUrl(config, "authorize", config.entra.signInTenant);
  u.searchParams.set("client_id", config.entra.clientId);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("redirect_uri", `${config.publicUrl}${CONSENT_COMPLETE_PATH}`);
  u.searchParams.set("scope", permissions.map(graphScope).join(" "));
  u.searchParams.set("prompt", "consent");
  u.searchParams.set("state", permissions.join(" "));
  return u.toString();
}

/** The known permission names in a consent link's `state`, in the catalogue's order. */
export function permissionsInState(state: string | undefined): GraphPermission[] {
  const names = (state ?? "")
    .split(" ")
    .filter((n): n is GraphPermission => Object.hasOwn(GRAPH_PERMISSIONS, n));
  return sortGraphPermissions(names);
}

/** `error`: what Entra answered when consent was not granted; `permissions`: what the link asked for. */
export function consentCompletePage(
  error: string | undefined,
  permissions: readonly GraphPermission[] = [],
): string {
  const what = permissions.length
    ? `${escapeHtml(describeGraphPermissions(permissions))} (${permissions.map((p) => `<code>${p}</code>`).join(", ")})`
    : "use Microsoft Graph";
  return error
    ? page(
        "Consent not granted",
        `<p>Microsoft Entra ID answered <code>${escapeHtml(error)}</code>.</p>
<p>Tools that read Microsoft Graph will keep asking for consent. Try the link again, or ask an
administrator to grant consent for your organisation. You can close this window.</p>`,
      )
    : page(
        "Consent granted",
        `<p class="ok"><strong>This server can now ${what} on your behalf.</strong></p>
<p>Close this window and call the tool again: your MCP client does not need to reconnect.</p>`,
      );
}
