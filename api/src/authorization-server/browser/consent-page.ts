/**
 * The consent page the proxy shows before it sends anyone to Entra ID (the MCP security guidance's
 * confused-deputy rule): who is asking, where the answer goes, what they will be able to do, and, for
 * a client registered for refresh tokens, whether it may stay signed in.
 *
 * Every value that comes from a client is HTML-escaped; the page can't be framed; the form carries a
 * one-time CSRF token bound to this pending request.
 *
 * @module
 */
import { escapeHtml } from "../../core/html.ts";
import { isLoopbackHost } from "../../core/loopback.ts";
import { page } from "../../core/page.ts";

/** The consent form's "Stay signed in" checkbox: sent as `yes` when ticked, not sent at all when not. */
export const STAY_SIGNED_IN = "stay_signed_in";

export interface ConsentView {
  requestId: string;
  csrf: string;
  clientName: string;
  /** Host of the CIMD URL, or a note that the client registered itself. */
  clientIdHost?: string;
  clientKind: "cimd" | "dcr" | "preregistered";
  redirectUri: string;
  scopes: string[];
  /**
   * Offer "Stay signed in" (the client registered for refresh tokens): a checkbox, ticked, so Approve
   * stays the one click it takes and the user can still turn it off.
   */
  staySignedIn: boolean;
  formAction: string;
}

export function renderConsentPage(v: ConsentView): string {
  const redirect = new URL(v.redirectUri);
  const redirectHost =
    redirect.protocol === "http:" || redirect.protocol === "https:" ? redirect.host : redirect.protocol;
  const loopback = isLoopbackHost(redirect.hostname);
  const who =
    v.clientKind === "cimd"
      ? `published its identity at <strong>${escapeHtml(v.clientIdHost ?? "")}</strong>`
      : v.clientKind === "dcr"
        ? "registered itself with this server; its name is not verified"
        : "is pre-registered with this server";
  const stay = v.staySignedIn
    ? `
  <p><label><input type="checkbox" name="${STAY_SIGNED_IN}" value="yes" checked> <strong>Stay signed in</strong></label><br>
  <span class="muted">${escapeHtml(v.clientName)} renews its access without asking you again, until you disconnect it under Connected apps or your Microsoft sign-in ends. Untick to sign in again when its access expires, after an hour.</span></p>`
    : "";
  return page(
    "Allow access?",
    `<p><strong class="client-name">${escapeHtml(v.clientName)}</strong> wants to use this MCP server as you.</p>
<dl class="facts">
  <dt>Client</dt><dd>${who}</dd>
  <dt>Sends your authorization to</dt><dd><code>${escapeHtml(redirectHost)}</code>${
    loopback ? ' <span class="warn">(an app on this computer)</span>' : ""
  }<br><span class="muted"><code>${escapeHtml(v.redirectUri)}</code></span></dd>
  <dt>It will be able to</dt><dd><ul>${v.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join("")}</ul></dd>
</dl>
<p class="muted">Approve only if you started this from an app you trust. You will sign in with Microsoft next.</p>
<form method="post" action="${escapeHtml(v.formAction)}">
  <input type="hidden" name="request_id" value="${escapeHtml(v.requestId)}">
  <input type="hidden" name="csrf_token" value="${escapeHtml(v.csrf)}">${stay}
  <div class="actions">
    <button type="submit" name="decision" value="approve" class="button primary">Approve</button>
    <button type="submit" name="decision" value="deny" class="button">Deny</button>
  </div>
</form>`,
  );
}
