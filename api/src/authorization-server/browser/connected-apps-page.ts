/**
 * The Connected apps page: the signed-in person's grants (which client, from which host, approved when,
 * last used when, allowed to do what), each with a Revoke button and one to revoke them all; for
 * administrators, a search by user or client with the same buttons.
 *
 * Server-rendered in the consent page's look, no script; every value escaped; every form posts to this
 * server with the session's CSRF token.
 *
 * @module
 */
import { escapeHtml } from "../../core/html.ts";
import { page } from "../../core/page.ts";
import type { GrantSummary } from "../tokens/grants.ts";

export interface ConnectedAppsView {
  who: { name?: string; username?: string };
  csrf: string;
  grants: GrantSummary[];
  /** What each grant's scopes allow, in words. */
  describe: (scopes: string[]) => string[];
  /** How precise "last used" is, in minutes. */
  lastUsedMinutes: number;
  /** The outcome of the last action, shown above the list. */
  notice?: string;
  /** Present for administrators. */
  admin?: {
    query: { user?: string; client?: string };
    /** The search's result (undefined before a search). */
    grants?: GrantSummary[];
    /** Why the search found nothing to show (unknown user …). */
    message?: string;
  };
}

const time = (ms: number) => {
  const iso = new Date(ms).toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 16).replace("T", " ")} UTC</time>`;
};

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}

function revokeForm(csrf: string, fields: Record<string, string>, label: string, primary = false): string {
  return `<form method="post" action="/connected-apps/revoke" class="inline">${hidden("csrf_token", csrf)}${Object.entries(
    fields,
  )
    .map(([k, v]) => hidden(k, v))
    .join(
      "",
    )}<button type="submit" class="button${primary ? " primary" : ""}">${escapeHtml(label)}</button></form>`;
}

function grantItem(
  g: GrantSummary,
  v: ConnectedAppsView,
  opts: { showUser: boolean; fields: Record<string, string> },
): string {
  const name = g.client?.name ?? g.clientId;
  const host = g.client?.host;
  const lastUsed = g.lastUsedAt
    ? `${time(g.lastUsedAt)} <span class="muted">(to within ${v.lastUsedMinutes} minutes)</span>`
    : '<span class="muted">not used yet</span>';
  const user = opts.showUser
    ? `<dt>User</dt><dd>${escapeHtml(g.name ?? "")} <code>${escapeHtml(g.username ?? g.oid)}</code></dd>`
    : "";
  return `<li class="grant" data-grant="${escapeHtml(g.grantId)}">
<h3 class="client-name">${escapeHtml(name)}</h3>
<dl class="facts">
  ${user}<dt>From</dt><dd>${host ? `<code>${escapeHtml(host)}</code>` : '<span class="muted">unknown</span>'}${
    g.client?.source === "dcr" ? ' <span class="muted">(registered itself; name not verified)</span>' : ""
  }</dd>
  <dt>Client ID</dt><dd><code class="client-id">${escapeHtml(g.clientId)}</code></dd>
  <dt>Approved</dt><dd>${time(g.createdAt)}</dd>
  <dt>Last used</dt><dd class="last-used">${lastUsed}</dd>
  <dt>It may</dt><dd><ul>${v
    .describe(g.scopes)
    .map((s) => `<li>${escapeHtml(s)}</li>`)
    .join("")}</ul></dd>
</dl>
<div class="actions">${revokeForm(v.csrf, { ...opts.fields, grant: g.grantId }, `Revoke ${name}`)}</div>
</li>`;
}

export function renderConnectedAppsPage(v: ConnectedAppsView): string {
  const who = escapeHtml(v.who.name ?? v.who.username ?? "you");
  const own = v.grants.length
    ? `<ul class="grants">${v.grants.map((g) => grantItem(g, v, { showUser: false, fields: {} })).join("")}</ul>
<div class="actions">${revokeForm(v.csrf, { all: "mine" }, "Revoke all", true)}</div>`
    : '<p class="empty">No apps are connected to this server as you.</p>';
  return page(
    "Connected apps",
    `<p>Signed in as <strong>${who}</strong>${
      v.who.username ? ` <code>${escapeHtml(v.who.username)}</code>` : ""
    }. These apps can use this MCP server as you. Revoking one ends its access at once; it has to ask you again to reconnect.</p>
${v.notice ? `<p class="notice" role="status">${escapeHtml(v.notice)}</p>` : ""}
${own}
${v.admin ? adminSection(v) : ""}
<form method="post" action="/connected-apps/signout" class="signout">${hidden("csrf_token", v.csrf)}<button type="submit" class="button">Sign out</button></form>`,
  );
}

function adminSection(v: ConnectedAppsView): string {
  const a = v.admin!;
  const q = a.query;
  const fields: Record<string, string> = {};
  if (q.user) fields.user = q.user;
  if (q.client) fields.client = q.client;
  let results = "";
  if (a.message) results = `<p class="empty">${escapeHtml(a.message)}</p>`;
  else if (a.grants) {
    const bulk = q.user
      ? revokeForm(v.csrf, { all: "user", user: q.user }, "Revoke all of this user's grants", true)
      : revokeForm(
          v.csrf,
          { all: "client", client: q.client ?? "" },
          "Revoke all of this client's grants",
          true,
        );
    results = a.grants.length
      ? `<ul class="grants admin-results">${a.grants
          .map((g) => grantItem(g, v, { showUser: true, fields: { ...fields, admin: "1" } }))
          .join("")}</ul><div class="actions">${bulk}</div>`
      : '<p class="empty">No grants found.</p>';
  }
  return `<section class="admin" aria-labelledby="admin-title">
<h2 id="admin-title">Administration</h2>
<p class="muted">You hold the administrator role: find anyone's grants in your directory by user or by client.</p>
<form method="get" action="/connected-apps" class="search">
  <label>User (sign-in name or object ID) <input name="user" value="${escapeHtml(q.user ?? "")}" autocomplete="off"></label>
  <label>Client ID <input name="client" value="${escapeHtml(q.client ?? "")}" autocomplete="off"></label>
  <button type="submit" class="button">Find grants</button>
</form>
${results}
</section>`;
}
