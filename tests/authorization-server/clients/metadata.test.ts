import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseClientMetadata } from "../../../api/src/authorization-server/clients/metadata.ts";
import { AsError, OAuthError, type Result } from "../../../api/src/authorization-server/errors.ts";

/** The value of an accepted `Result`; a rejection fails the test with its reason. */
function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new AsError(result.error);
  return result.value;
}

const base = { redirect_uris: ["https://app.example/cb"] };

function rejected(input: unknown) {
  const r = parseClientMetadata(input);
  assert.equal(r.ok, false, `expected a rejection for ${JSON.stringify(input)}`);
  if (r.ok) throw new Error("unreachable");
  return r.error;
}

describe("parseClientMetadata (RFC 7591 §2; public clients by default, secrets on request)", () => {
  test("minimal metadata gets RFC 7591 defaults and token_endpoint_auth_method none", () => {
    const r = parseClientMetadata(base);
    assert.deepEqual(r, {
      ok: true,
      value: {
        redirect_uris: ["https://app.example/cb"],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
        application_type: "web",
      },
    });
  });

  test("client_secret_post and client_secret_basic are kept (the registry issues the secret)", () => {
    for (const method of ["client_secret_post", "client_secret_basic"] as const) {
      const r = unwrap(parseClientMetadata({ ...base, token_endpoint_auth_method: method }));
      assert.equal(r.token_endpoint_auth_method, method);
    }
  });

  test("a full Claude Code style registration", () => {
    const r = unwrap(
      parseClientMetadata({
        redirect_uris: ["http://localhost:51234/callback"],
        client_name: "Claude Code (my-server)",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
        scope: "openid offline_access https://mcp.contoso.com/mcp/Mcp.Access",
        client_uri: "https://claude.ai",
        logo_uri: "https://claude.ai/logo.png",
        software_id: "claude-code",
        software_version: "2.1.0",
        unknown_field: { ignored: true },
        contacts: ["a@b.example"],
      }),
    );
    assert.equal(r.application_type, "native");
    assert.deepEqual(r.grant_types, ["authorization_code", "refresh_token"]);
    assert.equal(r.client_name, "Claude Code (my-server)");
    assert.equal(r.software_id, "claude-code");
    assert.equal("unknown_field" in r, false, "unknown fields are dropped");
    assert.equal("contacts" in r, false);
  });

  test("application_type: as sent, else native for loopback/private-use redirects, else web", () => {
    assert.equal(
      unwrap(parseClientMetadata({ ...base, application_type: "native" })).application_type,
      "native",
    );
    assert.equal(
      unwrap(parseClientMetadata({ redirect_uris: ["com.example.app:/cb"] })).application_type,
      "native",
    );
    assert.equal(
      unwrap(
        parseClientMetadata({ redirect_uris: ["https://vscode.dev/redirect", "http://127.0.0.1:33418/"] }),
      ).application_type,
      "native",
    );
    assert.equal(unwrap(parseClientMetadata(base)).application_type, "web");
    assert.equal(rejected({ ...base, application_type: "service" }).code, "invalid_client_metadata");
  });

  test("client_name: control and bidi-override characters stripped, then at most 200 characters", () => {
    const r = unwrap(parseClientMetadata({ ...base, client_name: "  Good\u0000 App\u202e\u2066\u0085\n " }));
    assert.equal(r.client_name, "Good App");
    assert.equal(
      unwrap(parseClientMetadata({ ...base, client_name: "x".repeat(200) })).client_name?.length,
      200,
    );
    const e = rejected({ ...base, client_name: "x".repeat(201) });
    assert.equal(e.code, "invalid_client_metadata");
    assert.match(e.description, /client_name must be at most 200 characters/);
    assert.equal(
      "client_name" in unwrap(parseClientMetadata({ ...base, client_name: "\u0000\u0001" })),
      false,
    );
  });

  const invalidMetadata: Array<[string, Record<string, unknown>, RegExp]> = [
    ["client_uri over http", { client_uri: "http://app.example" }, /client_uri must be an https URL/],
    ["logo_uri javascript:", { logo_uri: "javascript:alert(1)" }, /logo_uri must be an https URL/],
    [
      "logo_uri with credentials",
      { logo_uri: "https://u:p@app.example/l.png" },
      /logo_uri must be an https URL/,
    ],
    ["implicit grant", { grant_types: ["authorization_code", "implicit"] }, /"implicit" is not supported/],
    [
      "client_credentials grant",
      { grant_types: ["client_credentials"] },
      /"client_credentials" is not supported/,
    ],
    ["refresh_token alone", { grant_types: ["refresh_token"] }, /must include "authorization_code"/],
    ["token response type", { response_types: ["code", "token"] }, /response_types must be \["code"\]/],
    ["empty response types", { response_types: [] }, /response_types must be \["code"\]/],
    [
      "private_key_jwt",
      { token_endpoint_auth_method: "private_key_jwt" },
      /"private_key_jwt" is not supported/,
    ],
    [
      "tls_client_auth",
      { token_endpoint_auth_method: "tls_client_auth" },
      /supported: none, client_secret_post/,
    ],
    ["scope with a quote", { scope: 'read "write"' }, /scope must be space-separated scope tokens/],
    ["scope with double space", { scope: "a  b" }, /scope must be space-separated/],
    ["scope not a string", { scope: ["a"] }, /scope must be a string/],
    ["software_id not a string", { software_id: 42 }, /software_id must be a string/],
    ["grant_types not an array", { grant_types: "authorization_code" }, /grant_types must be an array/],
  ];
  for (const [name, extra, message] of invalidMetadata) {
    test(`invalid_client_metadata: ${name}`, () => {
      const e = rejected({ ...base, ...extra });
      assert.equal(e.code, "invalid_client_metadata");
      assert.match(e.description, message);
    });
  }

  const invalidRedirects: Array<[string, unknown, RegExp]> = [
    ["missing", undefined, /redirect_uris is required/],
    ["empty", [], /at least one URI/],
    ["not an array", "https://app.example/cb", /redirect_uris is required and must be an array/],
    ["non-string entry", [42], /redirect_uris must contain strings/],
    ["http non-loopback", ["http://app.example/cb"], /must use https/],
    ["fragment", ["https://app.example/cb#x"], /must not contain a fragment/],
    ["javascript:", ["javascript:alert(1)"], /not allowed/],
    ["second of two bad", ["https://app.example/cb", "http://evil.example/"], /http:\/\/evil\.example\//],
    ["too many", Array.from({ length: 21 }, (_, i) => `https://app.example/cb${i}`), /at most 20/],
  ];
  for (const [name, redirect_uris, message] of invalidRedirects) {
    test(`invalid_redirect_uri: ${name}`, () => {
      const e = rejected({ redirect_uris, client_name: "x" });
      assert.equal(e.code, "invalid_redirect_uri");
      assert.match(e.description, message);
    });
  }

  test("redirect problems win over other problems (RFC 7591 §3.2.2 code), others are still logged", () => {
    const e = rejected({
      redirect_uris: ["http://evil.example/"],
      token_endpoint_auth_method: "private_key_jwt",
    });
    assert.equal(e.code, "invalid_redirect_uri");
    assert.match(e.detail ?? "", /token_endpoint_auth_method/);
  });

  test("several metadata problems are reported together", () => {
    const e = rejected({ ...base, client_uri: "http://x.example", grant_types: ["password"] });
    assert.match(e.description, /client_uri/);
    assert.match(e.description, /password/);
  });

  test("not an object", () => {
    for (const input of [null, "x", 1, [base]]) {
      const e = rejected(input);
      assert.equal(e.code, "invalid_client_metadata");
      assert.equal(e.description, "client metadata must be a JSON object");
    }
  });

  test("a rejection as an AsError is an OAuthError with the RFC 7591 wire shape", () => {
    try {
      unwrap(parseClientMetadata({ redirect_uris: ["http://evil.example/"] }));
      assert.fail("expected a throw");
    } catch (err) {
      assert.ok(err instanceof AsError);
      assert.ok(err instanceof OAuthError);
      assert.equal(err.toResponseObject().error, "invalid_redirect_uri");
      assert.match(String(err.toResponseObject().error_description), /must use https/);
      assert.equal(err.reason, "invalid_redirect_uri");
    }
  });
});
