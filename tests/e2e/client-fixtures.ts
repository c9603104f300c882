/**
 * What real MCP clients send to an authorization server like this one: their registration (a Dynamic
 * Client Registration body), the parameters of their authorization request, and the shape of their
 * token requests (how they authenticate, whether they repeat `redirect_uri` and send `resource`).
 *
 * Each fixture cites where its shape comes from: the client's public source, its documentation, or
 * issue reports that quote what it sent. Values that depend on the run (ports, the server's scope and
 * URL) are filled in by the test; `SCOPE` stands for the scope the server advertises.
 *
 * @module
 */

/** Replaced by the scope the server advertises in its 401 challenge and metadata. */
export const SCOPE = "<advertised scope>";

export interface ClientFixture {
  /** The client as users know it. */
  name: string;
  /** Where the shape below comes from. */
  sources: string[];
  /** The DCR body the client POSTs to `/register`, as sent. */
  registration: Record<string, unknown>;
  /** The redirect URI the authorization request names (one of the registered ones, or a loopback port of one). */
  redirectUri: string;
  /**
   * `scope` of the authorization request (`SCOPE` is replaced); the sources say which clients add
   * `offline_access`. Refresh tokens do not depend on it: "Stay signed in" is offered to every client whose
   * `registration.grant_types` includes `refresh_token`.
   */
  scope: string;
  /** Whether the authorization and token requests carry `resource` (RFC 8707). */
  sendsResource: boolean;
  /** How the client authenticates at `/token`: public (`client_id` in the form), or with the issued secret. */
  tokenAuth: "none" | "client_secret_post" | "client_secret_basic";
}

export const FIXTURES: ClientFixture[] = [
  {
    // Claude.ai custom connectors register from Anthropic's backend with client_secret_post and the
    // claude.ai callback; a public-client-only server refuses them ("Couldn't register").
    name: "Claude.ai",
    sources: [
      "https://github.com/anthropics/claude-ai-mcp/issues/1043",
      "https://github.com/anthropics/claude-ai-mcp/issues/82",
      "https://github.com/PostHog/posthog/issues/48397",
      "https://github.com/anthropics/claude-code/issues/5826 (the registration request Claude sent)",
      "https://github.com/anthropics/claude-ai-mcp/issues/667 (token requests use client_secret_post)",
    ],
    registration: {
      client_name: "Claude",
      redirect_uris: ["https://claude.ai/api/mcp/auth_callback"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
    redirectUri: "https://claude.ai/api/mcp/auth_callback",
    scope: SCOPE,
    sendsResource: true,
    tokenAuth: "client_secret_post",
  },
  {
    // Claude Desktop's connectors are the same hosted connector: the registration comes from Anthropic's
    // backend (python-httpx) with the same body, reported from Claude Desktop on macOS.
    name: "Claude Desktop",
    sources: [
      "https://github.com/anthropics/claude-ai-mcp/issues/1043 (Claude Desktop on macOS 15, same backend)",
      "https://github.com/anthropics/claude-code/issues/58054 (claude.ai and claude.com callbacks)",
    ],
    registration: {
      client_name: "Claude",
      redirect_uris: ["https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
    redirectUri: "https://claude.com/api/mcp/auth_callback",
    scope: SCOPE,
    sendsResource: true,
    tokenAuth: "client_secret_post",
  },
  {
    // ChatGPT connectors register a per-connector callback under chatgpt.com/connector/oauth/ as a public
    // client and ask for offline_access when the server offers it.
    name: "ChatGPT connectors",
    sources: [
      "https://github.com/danielealbano/android-remote-control-mcp/pull/166 (callbacks, offline_access)",
      "https://github.com/kunickiaj/codemem/pull/1286 (https://chatgpt.com/connector/oauth/<id>)",
      "https://github.com/Dexter-DAO/dexter-mcp/issues/3 (public client, token_endpoint_auth_method none)",
      "https://developers.openai.com/apps-sdk/build/auth",
    ],
    registration: {
      client_name: "ChatGPT",
      redirect_uris: ["https://chatgpt.com/connector/oauth/OUbdUMlL15Ct"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    },
    redirectUri: "https://chatgpt.com/connector/oauth/OUbdUMlL15Ct",
    scope: `${SCOPE} offline_access`,
    sendsResource: true,
    tokenAuth: "none",
  },
  {
    // VS Code's fetchDynamicRegistration: its web and loopback redirect URIs (port 33418 added for servers
    // that match ports exactly), grant types filtered by the server's grant_types_supported.
    name: "VS Code",
    sources: [
      "https://github.com/microsoft/vscode/blob/main/src/vs/base/common/oauth.ts (fetchDynamicRegistration)",
    ],
    registration: {
      client_name: "Visual Studio Code",
      client_uri: "https://code.visualstudio.com",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      redirect_uris: [
        "https://insiders.vscode.dev/redirect",
        "https://vscode.dev/redirect",
        "http://localhost/",
        "http://127.0.0.1/",
        "http://localhost:33418/",
        "http://127.0.0.1:33418/",
      ],
      scope: SCOPE,
      token_endpoint_auth_method: "none",
    },
    redirectUri: "http://127.0.0.1:33418/",
    scope: SCOPE,
    sendsResource: true,
    tokenAuth: "none",
  },
  {
    // Cursor registers three redirect URIs in one request (its custom scheme, its web agents callback and
    // a fixed loopback port) as a public client; the desktop app signs in through the custom scheme.
    name: "Cursor",
    sources: [
      "https://github.com/erp-mafia/accounted/pull/2225 (Cursor's three-URI registration)",
      "https://github.com/soflyy/agent-connector-for-wp/issues/111",
      "https://github.com/different-ai/openwork/pull/3059 (token_endpoint_auth_method none)",
    ],
    registration: {
      client_name: "Cursor",
      redirect_uris: [
        "cursor://anysphere.cursor-mcp/oauth/callback",
        "https://www.cursor.com/agents/mcp/oauth/callback",
        "http://localhost:8787/callback",
      ],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    },
    redirectUri: "cursor://anysphere.cursor-mcp/oauth/callback",
    scope: SCOPE,
    sendsResource: true,
    tokenAuth: "none",
  },
  {
    // Codex CLI (rmcp): registers as "Codex" with an ephemeral loopback callback whose path ends in an id
    // derived from the server URL; `resource` only when configured (not by default).
    name: "Codex CLI",
    sources: [
      "https://github.com/openai/codex/blob/main/codex-rs/rmcp-client/src/perform_oauth_login.rs",
      "https://github.com/elmohq/elmo/pull/684 (Codex 0.147: application_type native, http://127.0.0.1:<port>/callback/<id>)",
    ],
    registration: {
      client_name: "Codex",
      redirect_uris: ["http://127.0.0.1:37819/callback/x3Jb0a9kQ2mW"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      application_type: "native",
    },
    redirectUri: "http://127.0.0.1:41207/callback/x3Jb0a9kQ2mW",
    scope: SCOPE,
    sendsResource: false,
    tokenAuth: "none",
  },
  {
    // The MCP Inspector's OAuth provider (clients/cli): a native public client. Its SDK adds
    // offline_access to the scope when the server offers it and the client has the refresh_token grant.
    name: "MCP Inspector",
    sources: [
      "node_modules/@modelcontextprotocol/inspector/clients/cli/build/index.js (clientMetadata), v2.12.0",
      "@modelcontextprotocol/client determineScope (the offline_access augmentation)",
      "https://github.com/modelcontextprotocol/inspector",
    ],
    registration: {
      redirect_uris: ["http://localhost:6274/oauth/callback"],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      client_name: "MCP Inspector",
      client_uri: "https://github.com/modelcontextprotocol/inspector",
      scope: `${SCOPE} offline_access`,
      application_type: "native",
    },
    redirectUri: "http://localhost:6274/oauth/callback",
    scope: `${SCOPE} offline_access`,
    sendsResource: true,
    tokenAuth: "none",
  },
  {
    // mcp-remote (the stdio bridge of Claude Desktop and other stdio-only hosts): registers "none" when
    // the server offers it, with its software id and version.
    name: "mcp-remote",
    sources: ["node_modules/mcp-remote/dist (clientMetadata, getTokenEndpointAuthMethod), v0.15.1"],
    registration: {
      redirect_uris: ["http://127.0.0.1:3334/oauth/callback"],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      client_name: "MCP CLI Proxy",
      client_uri: "https://github.com/modelcontextprotocol/mcp-cli",
      software_id: "2e6dc280-f3c3-4e01-99a7-8181dbd1d23d",
      software_version: "0.15.1",
      scope: `${SCOPE} offline_access`,
    },
    redirectUri: "http://127.0.0.1:3334/oauth/callback",
    scope: `${SCOPE} offline_access`,
    sendsResource: true,
    tokenAuth: "none",
  },
  {
    // Open WebUI registers through the MCP Python SDK's OAuthClientMetadata, whose
    // token_endpoint_auth_method defaults to client_secret_post, with a callback per tool server.
    name: "Open WebUI",
    sources: [
      "https://github.com/open-webui/open-webui/blob/main/backend/open_webui/utils/oauth.py (get_oauth_client_info_with_dynamic_client_registration)",
      "https://github.com/modelcontextprotocol/python-sdk/blob/main/src/mcp/shared/auth.py (OAuthClientMetadata defaults)",
    ],
    registration: {
      redirect_uris: ["http://localhost:8080/oauth/clients/mcp:graph/callback"],
      token_endpoint_auth_method: "client_secret_post",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      client_name: "Open WebUI",
      scope: SCOPE,
    },
    redirectUri: "http://localhost:8080/oauth/clients/mcp:graph/callback",
    scope: SCOPE,
    sendsResource: true,
    tokenAuth: "client_secret_post",
  },
];
