/**
 * Entra-direct mode helpers for end-to-end tests: sign a seeded user in to the emulator as its
 * pre-authorized public client (authorization code + PKCE, headless), read tool results, and check
 * that no token the test handled ever shows up in the server's output.
 */
import assert from "node:assert/strict";
import type { Emulator, EmulatorUser } from "@entra-mcp/emulator";
import { type EntraTokens, loginPublicClient } from "../../scripts/lib/entra-login.ts";

/** Every token string a test obtained, so the test can assert none was logged. */
export class TokenLedger {
  readonly tokens = new Set<string>();

  /** A fresh Entra access token for our API, for `user`, through the emulator's sign-in page. */
  async signIn(emulator: Emulator, user: EmulatorUser): Promise<string> {
    const t: EntraTokens = await loginPublicClient({
      authorityHost: emulator.authorityHost,
      tenantId: emulator.tenantId,
      clientId: emulator.publicClient.clientId,
      scope: `${emulator.apiApp.appIdUri}/${emulator.apiApp.scope}`,
      user: user.upn,
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

export interface ToolResultLike {
  isError?: boolean;
  content?: Array<{ type: string; text?: string; data?: string; mimeType?: string }>;
  structuredContent?: Record<string, unknown>;
}

/** The text of the first text block of a tool result. */
export function toolText(result: ToolResultLike): string {
  const block = result.content?.find((c) => c.type === "text");
  assert.ok(block?.text !== undefined, `expected a text block in ${JSON.stringify(result)}`);
  return block.text;
}

/** The JSON object a successful tool returned as text. */
export function toolJson(result: ToolResultLike): Record<string, unknown> {
  assert.ok(!result.isError, `the tool failed: ${JSON.stringify(result)}`);
  return JSON.parse(toolText(result)) as Record<string, unknown>;
}

/** The fields a person reads off `get_graph_user_details` match the emulator's user. */
export function assertIsUser(details: Record<string, unknown>, user: EmulatorUser): void {
  assert.equal(details.displayName, user.displayName);
  assert.equal(details.mail, user.mail);
  assert.equal(details.userPrincipalName, user.upn);
  assert.equal(details.id, user.oid);
}
