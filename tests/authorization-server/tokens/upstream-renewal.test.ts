/**
 * Proxy mode renews the user's Entra token with the stored Entra refresh token when it is about to
 * expire. What the user is told when that renewal fails depends on why: a refused refresh token means
 * signing in again; Entra down, throttling or slow means "try again shortly" (the README's promise);
 * the server's own managed identity failing is the operator's to fix.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createGrantService } from "../../../api/src/authorization-server/tokens/grants.ts";
import { createKeyring } from "../../../api/src/authorization-server/tokens/keyring.ts";
import { createProxyVerifier } from "../../../api/src/authorization-server/tokens/verifier.ts";
import { loadConfig } from "../../../api/src/config/config.ts";
import { Failure, toolResult } from "../../../api/src/core/failure.ts";
import { silentLogger } from "../../../api/src/core/log.ts";
import { createUpstreamClient } from "../../../api/src/entra/upstream.ts";
import { MemoryStore } from "../../../api/src/store/memory.ts";

const config = loadConfig({
  AUTH_MODE: "proxy",
  PUBLIC_URL: "http://127.0.0.1:7071",
  ENTRA_TENANT_ID: "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
  ENTRA_CLIENT_ID: "8e4b2a1c-6d3f-4a5e-9b8c-7d6e5f4a3b2c",
  MANAGED_IDENTITY_CLIENT_ID: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
  STORAGE_TABLE_ENDPOINT: "http://127.0.0.1:10002/devstoreaccount1",
});

/** Verifies the last user's access token again: is the grant still there? */
let verifyAgain: () => Promise<unknown> = async () => {};

/** A signed-in user whose stored Entra token has expired, and the renewal answered by `entraFetch`. */
async function userAssertionWith(
  entraFetch: typeof fetch,
  getAssertion: () => Promise<string> = async () => "mi-assertion",
) {
  const store = new MemoryStore();
  const grants = createGrantService(config, { store, keyring: createKeyring(store) });
  const { code } = await grants.create({
    tid: config.entra.tenantId,
    oid: "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
    clientId: "dcr_client",
    scopes: ["user_impersonation"],
    offline: false,
    upstream: { accessToken: "entra-at", refreshToken: "entra-rt", expiresAt: Date.now() - 1000 },
    code: { redirectUri: "http://127.0.0.1/cb", redirectUriGiven: true, codeChallenge: "x".repeat(43) },
  });
  const tokens = await grants.redeemCode(code, async () => {});
  const upstream = createUpstreamClient(config, { getAssertion, fetch: entraFetch });
  const verifier = createProxyVerifier(config, { grants, upstream, logger: silentLogger });
  const { principal } = await verifier.verify(tokens.access_token);
  verifyAgain = () => verifier.verify(tokens.access_token);
  return principal.userAssertion();
}

async function failureOf(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof Failure, `expected a Failure, got ${String(err)}`);
    return err;
  }
  assert.fail("the renewal succeeded");
}

const entraAnswers =
  (status: number, body: Record<string, unknown>): typeof fetch =>
  async () =>
    Response.json(body, { status });

describe("renewing the user's Entra token (RFC 6749 §6) when it fails", () => {
  it("works when Entra answers: the renewed token is used", async () => {
    const token = await userAssertionWith(
      entraAnswers(200, { access_token: "entra-at-2", refresh_token: "entra-rt-2", expires_in: 3600 }),
    );
    assert.equal(token, "entra-at-2");
  });

  for (const [what, entraFetch] of [
    ["Entra answers 503", entraAnswers(503, { error: "temporarily_unavailable", error_description: "busy" })],
    ["Entra answers 500", entraAnswers(500, { error: "server_error", error_description: "AADSTS90033" })],
    ["Entra throttles (429)", entraAnswers(429, { error: "throttled", error_description: "slow down" })],
    [
      "the request times out",
      async () => {
        throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
      },
    ],
    [
      "Entra cannot be reached",
      async () => {
        throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:443") });
      },
    ],
  ] as const) {
    it(`${what}: the tool says try again shortly, not sign in again`, async () => {
      const failure = await failureOf(userAssertionWith(entraFetch));
      assert.equal(failure.reason, "upstream_unavailable");
      assert.match(failure.message, /try again shortly/);
      // A transient failure keeps the grant.
      await verifyAgain();
      assert.deepEqual(toolResult(failure).structuredContent, {
        error: "upstream_unavailable",
        message: failure.message,
        retryAfter: 5,
      });
      assert.match(failure.message, /sign-in is intact/);
    });
  }

  it("Entra refuses the refresh token (invalid_grant): the user signs in again", async () => {
    const failure = await failureOf(
      userAssertionWith(
        entraAnswers(400, {
          error: "invalid_grant",
          error_description: "AADSTS70008: The provided authorization code or refresh token has expired.",
        }),
      ),
    );
    assert.equal(failure.reason, "reauthenticate");
    assert.match(failure.message, /Reconnect to this server to sign in again/);
    // The proxy grant ended with Entra's: the client's next request gets 401 (invalid_token).
    await assert.rejects(verifyAgain(), (err) => err instanceof Failure && err.reason === "invalid_token");
  });

  it("Conditional Access asks for MFA on renewal: the user is told about the extra step", async () => {
    const failure = await failureOf(
      userAssertionWith(entraAnswers(400, { error: "invalid_grant", error_description: "AADSTS50076: MFA" })),
    );
    assert.equal(failure.reason, "interaction_required");
  });

  it("the server's managed identity fails: the operator's problem, not a new sign-in", async () => {
    const failure = await failureOf(
      userAssertionWith(entraAnswers(200, {}), async () => {
        throw new Failure("server_misconfigured", "The server could not get its managed identity token.");
      }),
    );
    assert.equal(failure.reason, "server_misconfigured");
  });
});
