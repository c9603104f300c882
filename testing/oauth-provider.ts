/**
 * An in-memory `OAuthClientProvider` for the real MCP clients (v2 `@modelcontextprotocol/client` and
 * v1 `@modelcontextprotocol/sdk` share the interface): it records the authorization URL the client
 * wants to open, and the test then walks that URL with `walkAuthorization`.
 */
export class MemoryOAuthProvider {
  authorizationUrl?: URL;
  private _client?: Record<string, unknown>;
  private _tokens?: Record<string, unknown>;
  private _verifier = "";
  readonly redirectUrl: string;
  readonly clientMetadataUrl?: string;
  private readonly _metadata: Record<string, unknown>;

  constructor(opts: {
    redirectUrl?: string;
    clientMetadataUrl?: string;
    clientName?: string;
    preregisteredClientId?: string;
  }) {
    this.redirectUrl = opts.redirectUrl ?? "http://127.0.0.1:53682/callback";
    this.clientMetadataUrl = opts.clientMetadataUrl;
    this._metadata = {
      client_name: opts.clientName ?? "Test client",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
    if (opts.preregisteredClientId) this._client = { client_id: opts.preregisteredClientId };
  }
  get clientMetadata() {
    return this._metadata as never;
  }
  clientInformation() {
    return this._client as never;
  }
  saveClientInformation(info: Record<string, unknown>) {
    this._client = info;
  }
  tokens() {
    return this._tokens as never;
  }
  saveTokens(tokens: Record<string, unknown>) {
    this._tokens = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(v: string) {
    this._verifier = v;
  }
  codeVerifier() {
    return this._verifier;
  }
  /** The tokens the client holds (for refresh and restart tests). */
  get currentTokens() {
    return this._tokens as { access_token: string; refresh_token?: string } | undefined;
  }
}

/**
 * `MemoryOAuthProvider` that also keeps the discovery state across the redirect, as the v2 client asks
 * (SEP-2352: the callback leg is checked against the authorization server the flow started with).
 */
export class StatefulOAuthProvider extends MemoryOAuthProvider {
  private _discovery?: unknown;
  saveDiscoveryState(state: unknown) {
    this._discovery = state;
  }
  discoveryState() {
    return this._discovery as never;
  }
}
