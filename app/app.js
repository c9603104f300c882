// The landing page: finds the API, shows whether it answers and in which mode, fills every client
// recipe with the MCP endpoint, copies, and shows who is signed in through Static Web Apps auth.
// No framework and no third-party code: the CSP allows scripts from this origin only.
//
// Where the API is: `config.json` next to this page when it exists (on Azure the azd postprovision
// hook writes it, because the page and the API live on different hosts); otherwise this page's origin
// (`npm start` serves both; `swa start` proxies /api to the server).

const SERVER_NAME = "entra-graph";
const HEALTH_TIMEOUT_MS = 8000;
const RECHECK_EVERY_MS = 30_000;

const byId = (id) => document.getElementById(id);

/** @returns {Promise<{apiBaseUrl: string, mcpEndpoint?: string, authMode?: string, staticWebAppsAuth: boolean}>} */
async function loadConfig() {
  const config = { apiBaseUrl: location.origin, staticWebAppsAuth: true };
  try {
    const res = await fetch("/config.json", { cache: "no-store" });
    if (res.ok && (res.headers.get("content-type") ?? "").includes("json")) {
      const json = await res.json();
      const base = httpOrigin(json.apiBaseUrl);
      if (base) config.apiBaseUrl = base;
      if (httpOrigin(json.mcpEndpoint)) config.mcpEndpoint = json.mcpEndpoint;
      if (json.authMode === "proxy" || json.authMode === "entra") config.authMode = json.authMode;
      if (json.staticWebAppsAuth === false) config.staticWebAppsAuth = false;
    }
  } catch {
    // No config.json: this origin serves the API too.
  }
  return config;
}

/** The origin of an http(s) URL, or undefined. */
function httpOrigin(value) {
  try {
    const url = new URL(String(value));
    return url.protocol === "https:" || url.protocol === "http:" ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** Single-quotes a shell argument when it holds anything beyond URL-safe characters. */
function shellArg(value) {
  return /^[\w@%+=:,./~-]+$/.test(value) ? value : `'${value.replaceAll("'", `'"'"'`)}'`;
}

function isLoopback(url) {
  return ["localhost", "127.0.0.1", "[::1]"].includes(new URL(url).hostname);
}

/** The text of every recipe, from the endpoint. */
const RECIPES = {
  "recipe-vscode": (e) => JSON.stringify({ servers: { [SERVER_NAME]: { type: "http", url: e } } }, null, 2),
  "recipe-claude-code": (e) => `claude mcp add --transport http ${SERVER_NAME} ${shellArg(e)}`,
  "recipe-claude-desktop": (e) =>
    JSON.stringify({ mcpServers: { [SERVER_NAME]: { command: "npx", args: mcpRemoteArgs(e) } } }, null, 2),
  "recipe-mcp-remote": (e) => ["npx", ...mcpRemoteArgs(e).map(shellArg)].join(" "),
  "recipe-inspector-web": (e) =>
    `npx @modelcontextprotocol/inspector --web --transport http --server-url ${shellArg(e)}`,
  "recipe-inspector-cli": (e) =>
    `npx @modelcontextprotocol/inspector --cli ${shellArg(e)} --transport http \\\n  --method tools/call --tool-name get_graph_user_details`,
};

function mcpRemoteArgs(endpoint) {
  // mcp-remote refuses plain http except on loopback unless told otherwise.
  const http = new URL(endpoint).protocol === "http:" && !isLoopback(endpoint);
  return ["-y", "mcp-remote", endpoint, ...(http ? ["--allow-http"] : [])];
}

function vscodeInstallLink(scheme, endpoint) {
  return `${scheme}:mcp/install?${encodeURIComponent(JSON.stringify({ name: SERVER_NAME, type: "http", url: endpoint }))}`;
}

function setText(id, text) {
  const el = byId(id);
  if (el) el.textContent = text;
}

function renderEndpoint(endpoint) {
  byId("endpoint").value = endpoint;
  for (const [id, recipe] of Object.entries(RECIPES)) {
    const code = byId(id)?.querySelector("code");
    if (code) code.textContent = recipe(endpoint);
  }
  byId("vscode-install").href = vscodeInstallLink("vscode", endpoint);
  byId("vscode-insiders-install").href = vscodeInstallLink("vscode-insiders", endpoint);
  const url = new URL(endpoint);
  setText("generic-endpoint", endpoint);
  setText("generic-prm", `${url.origin}/.well-known/oauth-protected-resource${url.pathname}`);
}

const MODES = {
  proxy: {
    label: "proxy mode",
    note: "Works with any MCP client: this server runs the OAuth sign-in in front of Entra ID and asks you to approve each new client before you sign in.",
    registration:
      "Client ID Metadata Document, Dynamic Client Registration or a pre-registered client; PKCE with S256.",
  },
  entra: {
    label: "Entra-direct mode",
    note: "Clients sign in with Entra ID directly, so they must be known to your tenant: VS Code is pre-authorized; other clients need a client ID registered there.",
    registration:
      "A client known to the tenant (pre-authorized, or registered with its own client ID); PKCE.",
  },
};

function renderServer(health, signedInUser) {
  const mode = MODES[health.authMode];
  if (mode) {
    const note = byId("mode-note");
    note.textContent = mode.note;
    note.hidden = false;
    setText("generic-registration", mode.registration);
  }
  if (typeof health.authorizationServer === "string") setText("generic-as", health.authorizationServer);
  if (Array.isArray(health.scopes)) setText("generic-scope", health.scopes.join(" "));
  if (typeof health.clientId === "string") setText("client-id", health.clientId);
  // Proxy mode: the server's own page where people see and revoke the apps they connected.
  const connectedApps = byId("connected-apps-link");
  if (httpOrigin(health.connectedAppsUrl)) {
    connectedApps.href = new URL(health.connectedAppsUrl).href;
    connectedApps.hidden = false;
  } else {
    connectedApps.hidden = true;
  }
  if (typeof health.tenantId === "string") setText("tenant-id", health.tenantId);
  if (Array.isArray(health.graphPermissions)) {
    // Built with text nodes only: nothing from the answer is parsed as HTML.
    const list = byId("graph-permissions");
    list.replaceChildren(
      ...health.graphPermissions
        .filter((p) => typeof p?.name === "string" && typeof p?.allows === "string")
        .map((p) => {
          const item = document.createElement("li");
          const code = document.createElement("code");
          code.textContent = p.name;
          item.append(`${p.allows[0].toUpperCase()}${p.allows.slice(1)} (`, code, ")");
          return item;
        }),
    );
  }
  if (Array.isArray(health.tools)) {
    const names = health.tools.map((t) => t?.name).filter((n) => typeof n === "string");
    const parts = names.flatMap((n, i) => {
      const code = document.createElement("code");
      code.textContent = n;
      return i === 0 ? [code] : [", ", code];
    });
    if (parts.length) byId("tool-list").replaceChildren("Tools: ", ...parts);
  }
  if (httpOrigin(health.consentUrl)) {
    const consent = new URL(health.consentUrl);
    // Signed in on this page: Entra preselects the same account.
    if (signedInUser?.includes("@")) consent.searchParams.set("login_hint", signedInUser);
    byId("consent-link").href = consent.href;
  }
}

/** The health check's dependencies, as the status line names them. */
const CHECK_NAMES = { storage: "storage", entra: "Microsoft Entra ID" };

function setStatus(state, text) {
  const status = byId("status");
  // Unchanged text is left alone, so screen readers hear only real changes of this live region.
  if (status.dataset.state === state && byId("status-text").textContent === text) return;
  status.dataset.state = state;
  setText("status-text", text);
}

async function fetchHealth(apiBaseUrl) {
  const res = await fetch(`${apiBaseUrl}/api/health`, {
    cache: "no-store",
    signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
  });
  // 503 with `status: "degraded"`: the server answers, but storage or Entra ID does not (see `checks`).
  if (!res.ok && res.status !== 503) throw new Error(`HTTP ${res.status}`);
  const health = await res.json();
  if (health?.status !== "ok" && health?.status !== "degraded") throw new Error("unexpected answer");
  return health;
}

async function loadAccount(config) {
  if (!config.staticWebAppsAuth) return undefined;
  try {
    const res = await fetch("/.auth/me", { cache: "no-store" });
    if (!res.ok || !(res.headers.get("content-type") ?? "").includes("json")) return undefined;
    const { clientPrincipal } = await res.json();
    const account = byId("account");
    const user = byId("account-user");
    user.replaceChildren();
    if (clientPrincipal?.userDetails) {
      const name = document.createElement("strong");
      name.textContent = clientPrincipal.userDetails;
      user.append("Signed in as ", name);
    }
    byId("sign-in").hidden = Boolean(clientPrincipal);
    byId("sign-out").hidden = !clientPrincipal;
    account.hidden = false;
    return clientPrincipal?.userDetails;
  } catch {
    return undefined; // No Static Web Apps auth here.
  }
}

function announce(message) {
  const announcer = byId("announcer");
  announcer.textContent = "";
  // A fresh text node makes screen readers repeat the same message.
  requestAnimationFrame(() => {
    announcer.textContent = message;
  });
}

function selectContents(el) {
  if (el instanceof HTMLInputElement) {
    el.focus();
    el.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(el);
  const selection = getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}

async function copyFrom(button) {
  const source = byId(button.dataset.copy ?? "");
  if (!source) return;
  const text = source instanceof HTMLInputElement ? source.value : (source.textContent ?? "");
  const label = button.querySelector(".copy-label");
  try {
    await navigator.clipboard.writeText(text);
    if (label) {
      label.textContent = "Copied";
      setTimeout(() => {
        label.textContent = "Copy";
      }, 2000);
    }
    announce("Copied to the clipboard.");
  } catch {
    selectContents(source);
    announce("Selected: press Ctrl+C (⌘C on a Mac) to copy.");
  }
}

async function main() {
  const config = await loadConfig();
  const fallbackEndpoint = config.mcpEndpoint ?? `${config.apiBaseUrl}/api/mcp`;
  renderEndpoint(fallbackEndpoint);
  byId("health-link").href = `${config.apiBaseUrl}/api/health`;

  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("button[data-copy]") : null;
    if (button) void copyFrom(button);
  });

  const accountReady = loadAccount(config);
  let checking = false;
  // `quiet`: a background re-check keeps showing the last answer until the new one arrives.
  const check = async (quiet = false) => {
    if (checking) return;
    checking = true;
    if (!quiet) setStatus("checking", "Checking the server…");
    try {
      const health = await fetchHealth(config.apiBaseUrl);
      // The server knows its public MCP URL best (behind `swa start` it differs from this page's origin).
      renderEndpoint(httpOrigin(health.resource) ? health.resource : fallbackEndpoint);
      renderServer(health, await accountReady);
      const mode = MODES[health.authMode]?.label ?? health.authMode;
      const down = Object.entries(health.checks ?? {})
        .filter(([, state]) => state === "unavailable")
        .map(([name]) => CHECK_NAMES[name] ?? name);
      if (down.length) {
        setStatus(
          "degraded",
          `Server reachable · ${mode} · ${down.join(" and ")} unavailable: sign-in and tools may fail until it recovers`,
        );
      } else {
        setStatus("up", `Server reachable · ${mode}`);
      }
    } catch {
      setStatus("down", `Server unreachable at ${config.apiBaseUrl}`);
    } finally {
      checking = false;
    }
  };
  byId("recheck").addEventListener("click", () => void check());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") void check(true);
  });
  setInterval(() => {
    if (document.visibilityState === "visible") void check(true);
  }, RECHECK_EVERY_MS);
  await check();
  document.documentElement.dataset.ready = "true";
}

void main();
