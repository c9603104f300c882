/**
 * The consent link for the server's Graph permission, and the page Entra ID returns to after a user (or an administrator) grants the server's Graph permission
 * from the consent link (`consentUrl`).
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { CONSENT_COMPLETE_PATH, entraUrl } from "../config/paths.ts";
import { escapeHtml } from "../core/html.ts";
import { page } from "../core/page.ts";

/** The link a user opens to grant this server's Graph permission in their tenant. */
export function consentUrl(config: Pick<Config, "entra" | "publicUrl">): string {
  const u = entraUrl(config, "authorize", config.entra.signInTenant);
  u.searchParams.set("client_id", config.entra.clientId);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("redirect_uri", `${config.publicUrl}${CONSENT_COMPLETE_PATH}`);
  u.searchParams.set("scope", "https://graph.microsoft.com/User.Read");
  u.searchParams.set("prompt", "consent");
  return u.toString();
}

/** `error`: what Entra answered when consent was not granted. */
export function consentCompletePage(error: string | undefined): string {
  return error
    ? page(
        "Consent not granted",
        `<p>Microsoft Entra ID answered <code>${escapeHtml(error)}</code>.</p>
<p>Tools that read Microsoft Graph will keep asking for consent. Try the link again, or ask an
administrator to grant consent for your organisation. You can close this window.</p>`,
      )
    : page(
        "Consent granted",
        `<p class="ok"><strong>This server can now read your Microsoft Graph profile on your behalf.</strong></p>
<p>Close this window and call the tool again: your MCP client does not need to reconnect.</p>`,
      );
}
