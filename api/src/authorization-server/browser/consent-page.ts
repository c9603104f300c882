/**
 * The consent page the proxy shows before it sends anyone to Entra ID (the MCP security guidance's
 * confused-deputy rule): who is asking, where the answer goes, what they will be able to do.
 *
 * Every value that comes from a client is HTML-escaped; the page can't be framed; the form carries a
 * one-time CSRF token bound to this pending request.
 *
 * @module
 */
import { escapeHtml } from "../../core/html.ts";
import { isLoopbackHost } from "../../core/loopback.ts";
import { page } from "../../core/page.ts";

export interface ConsentView {
  requestId: string;
  csrf: string;
  clientName: string;
  /** Host of the CIMD URL, or a note that the client registered itself. */
  clientIdHost?: string;
  clientKind: "cimd" | "dcr" | "preregistered";
  redirectUri: string;
  scopes: string[];
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
  <input type="hidden" name="csrf_token" value="${escapeHtml(v.csrf)}">
  <div class="actions">
    <button type="submit" name="decision" value="approve" class="button primary">Approve</button>
    <button type="submit" name="decision" value="deny" class="button">Deny</button>
  </div>
</form>`,
  );
}
