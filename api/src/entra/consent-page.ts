/**
 * The page Entra ID returns to after a user (or an administrator) grants the server's Graph permission
 * from the consent link (`consentUrl`).
 *
 * @module
 */
import { escapeHtml } from "../core/html.ts";
import { page } from "../core/page.ts";

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
