/**
 * Entra-direct mode: sign a seeded user in to the emulator as its pre-authorized public client
 * (authorization code + PKCE, headless), and check that no token the test handled ever shows up in the
 * server's output.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Emulator, EmulatorUser } from "@entra-mcp/emulator";
import { type EntraTokens, loginPublicClient } from "@entra-mcp/emulator/login";

/** Every token string a test obtained, so the test can assert none was logged. */
export class TokenLedger {
  readonly tokens = new Set<string>();

  /** A fresh Entra access token for our API, for `user`, through the emulator's sign-in page. */
  async signIn(emulator: Emulator, user: EmulatorUser, opts: { claims?: string } = {}): Promise<string> {
    const t: EntraTokens = await loginPublicClient({
      authorityHost: emulator.authorityHost,
      tenantId: emulator.tenantId,
      clientId: emulator.publicClient.clientId,
      scope: `${emulator.apiApp.appIdUri}/${emulator.apiApp.scope}`,
      user: user.upn,
      claims: opts.claims,
    });
    for (const v of [t.access_token, t.refresh_token, t.id_token]) if (v) this.tokens.add(v);
    return t.access_token;
  }

  /** Fails if any recorded token (or a recognisable part of one) appears in `output`. */
  assertNotIn(output: string, what = "server output"): void {
    assert.ok(this.tokens.size > 0, "the test recorded no tokens");
    for (const token of this.tokens) {
      // The signature alone identifies the token; also check the whole string.
      const signature = token.split(".").at(-1) ?? token;
      assert.ok(!output.includes(token), `${what} contains a token`);
      if (signature.length >= 16)
        assert.ok(!output.includes(signature), `${what} contains a token signature`);
    }
  }
}
