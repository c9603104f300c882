// The proxy's upstream sign-in asks Entra for the Graph permissions the tools declare, so a user who may
// consent for themselves does so at first sign-in instead of at their first Graph call; not when an
// administrator granted them for the tenant (GRAPH_ADMIN_CONSENT=true). The code redemption and the
// refresh ask for one resource only, as Entra requires (AADSTS28000 otherwise).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../api/src/config/config.ts";
import { createUpstreamClient, upstreamAuthorizeUrl } from "../../api/src/entra/upstream.ts";
import { graphPermissionsOf } from "../../api/src/mcp/permissions.ts";
import { tools } from "../../api/src/mcp/tools/index.ts";

const env = {
  STORAGE_TABLE_ENDPOINT: "https://stmcp.table.core.windows.net",
  PUBLIC_URL: "https://mcp.contoso.com",
  ENTRA_TENANT_ID: "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
  ENTRA_CLIENT_ID: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
};
const own = `api://${env.ENTRA_CLIENT_ID}/user_impersonation openid profile offline_access`;
const p = { state: "s", nonce: "n", codeChallenge: "c", graphPermissions: graphPermissionsOf(tools) };
const declared = graphPermissionsOf(tools).map((name) => `https://graph.microsoft.com/${name}`);

function authorizeScope(extra: Record<string, string> = {}): string[] {
  const url = new URL(upstreamAuthorizeUrl(loadConfig({ ...env, ...extra }), p));
  return (url.searchParams.get("scope") ?? "").split(" ");
}

describe("upstream sign-in consent", () => {
  it("asks for every Graph permission the tools declare at sign-in by default", () => {
    assert.deepEqual(authorizeScope(), [...own.split(" "), ...declared]);
  });

  it("asks only for its own scope when an administrator granted Graph for the tenant", () => {
    assert.deepEqual(authorizeScope({ GRAPH_ADMIN_CONSENT: "true" }), own.split(" "));
    assert.deepEqual(authorizeScope({ GRAPH_ADMIN_CONSENT: "false" }), [...own.split(" "), ...declared]);
  });

  it("refuses a GRAPH_ADMIN_CONSENT that is not true or false", () => {
    assert.throws(
      () => loadConfig({ ...env, GRAPH_ADMIN_CONSENT: "yes" }),
      (err) => err instanceof ConfigError && /GRAPH_ADMIN_CONSENT/.test(err.message),
    );
  });

  it("redeems the code and refreshes for its own resource only", async () => {
    const bodies: URLSearchParams[] = [];
    const client = createUpstreamClient(loadConfig(env), {
      getAssertion: async () => "assertion",
      fetch: async (_url, init) => {
        bodies.push(new URLSearchParams(String(init?.body)));
        return Response.json({ access_token: "a", refresh_token: "r", expires_in: 3600 });
      },
    });
    await client.redeemCode("code", "verifier");
    await client.refresh("r", env.ENTRA_TENANT_ID);
    for (const body of bodies) assert.equal(body.get("scope"), own);
  });
});
