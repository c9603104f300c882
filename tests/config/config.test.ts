import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ConfigError, loadConfig, SETTINGS } from "../../api/src/config/config.ts";

const base = {
  STORAGE_TABLE_ENDPOINT: "https://stmcp.table.core.windows.net",
  PUBLIC_URL: "https://mcp.contoso.com",
  ENTRA_TENANT_ID: "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
  ENTRA_CLIENT_ID: "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
  MANAGED_IDENTITY_CLIENT_ID: "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

describe("config", () => {
  it("derives the resource, issuer, App ID URI and tenant allow-list from the minimum settings", () => {
    const c = loadConfig(base);
    assert.equal(c.resource, "https://mcp.contoso.com/api/mcp");
    assert.equal(c.entra.issuer, `https://login.microsoftonline.com/${base.ENTRA_TENANT_ID}/v2.0`);
    assert.equal(c.entra.appIdUri, `api://${base.ENTRA_CLIENT_ID}`);
    assert.deepEqual(c.entra.allowedTenants, [base.ENTRA_TENANT_ID]);
    assert.equal(c.graph.baseUrl, "https://graph.microsoft.com/v1.0");
    assert.equal(c.authMode, "proxy");
  });

  it("needs a table endpoint in proxy mode only", () => {
    const { STORAGE_TABLE_ENDPOINT: _omit, ...rest } = base;
    assert.match(problems(rest)[0], /STORAGE_TABLE_ENDPOINT is required when AUTH_MODE=proxy/);
    assert.equal(loadConfig({ ...rest, AUTH_MODE: "entra" }).authMode, "entra");
  });

  it("parses pre-registered clients and refuses malformed ones", () => {
    const c = loadConfig({
      ...base,
      OAUTH_CLIENTS: '[{"client_id":"app","redirect_uris":["https://app.example/cb"]}]',
    });
    assert.deepEqual(c.oauth.preregisteredClients, [
      { client_id: "app", client_name: undefined, redirect_uris: ["https://app.example/cb"] },
    ]);
    assert.match(problems({ ...base, OAUTH_CLIENTS: '{"client_id":"app"}' })[0], /OAUTH_CLIENTS/);
    assert.match(problems({ ...base, OAUTH_CLIENTS: '[{"client_id":"app"}]' })[0], /redirect_uris/);
  });

  it("names every missing required variable at once", () => {
    const missing = problems({});
    for (const s of SETTINGS.filter((x) => x.required)) {
      assert.ok(
        missing.some((p) => p.startsWith(s.name)),
        `${s.name} not reported in ${missing.join("; ")}`,
      );
    }
  });

  it("rejects bad values with the variable's name", () => {
    assert.match(problems({ ...base, ENTRA_TENANT_ID: "contoso" })[0], /ENTRA_TENANT_ID must be a GUID/);
    assert.match(problems({ ...base, AUTH_MODE: "open" })[0], /AUTH_MODE/);
    assert.match(problems({ ...base, PUBLIC_URL: "http://mcp.contoso.com" })[0], /PUBLIC_URL must use https/);
    assert.match(problems({ ...base, PUBLIC_URL: "https://mcp.contoso.com/mcp" })[0], /without a path/);
    assert.match(
      problems({ ...base, ENTRA_AUTHORITY_HOST: "http://127.0.0.1:8443" })[0],
      /ENTRA_AUTHORITY_HOST must use https/,
    );
    assert.match(problems({ ...base, ALLOWED_ORIGINS: "https://a.example/x" })[0], /ALLOWED_ORIGINS/);
  });

  it("allows plain http only on loopback, for local runs", () => {
    const c = loadConfig({ ...base, PUBLIC_URL: "http://127.0.0.1:7071/" });
    assert.equal(c.resource, "http://127.0.0.1:7071/api/mcp");
  });

  it("sends browsers to the browser authority host: the authority host unless set, http only on loopback", () => {
    const c = loadConfig(base);
    assert.equal(c.entra.browserAuthorityHost, "https://login.microsoftonline.com");
    const local = loadConfig({
      ...base,
      ENTRA_AUTHORITY_HOST: "https://127.0.0.1:7443",
      ENTRA_BROWSER_AUTHORITY_HOST: "http://127.0.0.1:7444/",
    });
    assert.equal(local.entra.browserAuthorityHost, "http://127.0.0.1:7444");
    assert.equal(local.entra.issuer, `https://127.0.0.1:7443/${base.ENTRA_TENANT_ID}/v2.0`);
    assert.match(
      problems({ ...base, ENTRA_BROWSER_AUTHORITY_HOST: "http://login.example.com" })[0],
      /ENTRA_BROWSER_AUTHORITY_HOST must use https/,
    );
  });

  it("every setting is documented in the README's configuration table, with its default", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    for (const s of SETTINGS) {
      const row = readme.split("\n").find((l) => new RegExp(`^\\|\\s*\`${s.name}\`\\s*\\|`).test(l));
      assert.ok(row, `README has no configuration row for ${s.name}`);
      if (s.default && !s.default.startsWith("("))
        assert.ok(row.includes(s.default), `README row for ${s.name} lacks its default ${s.default}`);
    }
  });

  it("has no setting that holds a secret", () => {
    for (const s of SETTINGS) assert.doesNotMatch(s.name, /SECRET|PASSWORD|KEY$|CONNECTION_STRING/i);
  });
});
