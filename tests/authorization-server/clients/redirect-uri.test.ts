import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  isLoopbackRedirectUri,
  redirectUriMatches,
  validateRedirectUriForRegistration,
} from "../../../api/src/authorization-server/clients/redirect-uri.ts";

describe("redirectUriMatches (OAuth 2.1 §4.1.1 exact match, RFC 8252 §7.3 loopback ports)", () => {
  const cases: Array<[registered: string[], requested: string, expected: boolean, why: string]> = [
    [["https://claude.ai/api/mcp/auth_callback"], "https://claude.ai/api/mcp/auth_callback", true, "exact"],
    [["https://a.example/cb", "https://b.example/cb"], "https://b.example/cb", true, "exact, second entry"],
    [["https://a.example/cb"], "https://a.example/cb/", false, "no trailing-slash tolerance"],
    [["https://a.example/cb/"], "https://a.example/cb", false, "no trailing-slash tolerance (reverse)"],
    [["https://a.example/cb"], "https://a.example/CB", false, "path is case-sensitive"],
    [["https://a.example/cb"], "https://A.example/cb", false, "no case folding at all"],
    [
      ["https://a.example/cb"],
      "https://a.example:443/cb",
      false,
      "https: explicit default port is not equal",
    ],
    [["https://a.example:8443/cb"], "https://a.example:9443/cb", false, "https: port must match"],
    [["https://a.example/cb"], "https://a.example/cb?x=1", false, "query must match"],
    [["https://a.example/cb"], "https://a.example/cb#x", false, "fragment never matches"],
    [["https://a.example/a/../cb"], "https://a.example/cb", false, "no dot-segment normalisation"],
    [["https://a.example/c%62"], "https://a.example/cb", false, "no percent-decoding"],
    [["http://127.0.0.1:1234/cb"], "http://127.0.0.1:5678/cb", true, "127.0.0.1: any port"],
    [["http://127.0.0.1/cb"], "http://127.0.0.1:5678/cb", true, "127.0.0.1: registered without port"],
    [["http://127.0.0.1:1234/cb"], "http://127.0.0.1/cb", true, "127.0.0.1: requested without port"],
    [["http://[::1]:1234/cb"], "http://[::1]:5678/cb", true, "[::1]: any port"],
    [["http://localhost:1234/callback"], "http://localhost:61234/callback", true, "localhost: any port"],
    [["http://127.0.0.1:1234/cb"], "http://127.0.0.1:5678/cb2", false, "loopback: path must match"],
    [
      ["http://127.0.0.1:1234/cb"],
      "http://127.0.0.1:5678/cb/",
      false,
      "loopback: no trailing-slash tolerance",
    ],
    [["http://127.0.0.1:1234/cb"], "http://127.0.0.1:5678/CB", false, "loopback: path case-sensitive"],
    [["http://127.0.0.1:1234/cb?a=1"], "http://127.0.0.1:5678/cb?a=2", false, "loopback: query must match"],
    [["http://127.0.0.1:1234/cb"], "http://localhost:1234/cb", false, "loopback: host spelling must match"],
    [["http://localhost:1234/cb"], "http://[::1]:1234/cb", false, "loopback: localhost is not [::1]"],
    [["http://127.0.0.1:1234/cb"], "http://127.0.0.1:5678/cb#x", false, "loopback: no fragment"],
    [["http://127.0.0.1:1234/cb"], "http://127.0.0.1:99999/cb", false, "loopback: port out of range"],
    [["http://127.0.0.1:1234/cb"], "http://127.0.0.1:5678@evil.example/cb", false, "userinfo trick"],
    [["http://127.0.0.1:1234/cb"], "http://127.1:5678/cb", false, "other spelling of 127.0.0.1"],
    [["http://127.0.0.1:1234/cb"], "HTTP://127.0.0.1:5678/cb", false, "scheme case not folded"],
    [["http://evil.example:1234/cb"], "http://evil.example:5678/cb", false, "non-loopback http: exact only"],
    [["https://127.0.0.1:1234/cb"], "https://127.0.0.1:5678/cb", false, "https loopback: exact only"],
    [["com.example.app:/cb"], "com.example.app:/cb", true, "private-use scheme: exact"],
    [["com.example.app:/cb"], "com.example.app:/cb/", false, "private-use scheme: no slash tolerance"],
    [["com.example.app:/cb"], "COM.EXAMPLE.APP:/cb", false, "private-use scheme: no case folding"],
    [["com.example.app:/cb"], "com.example.app://cb", false, "private-use scheme: form must match"],
    [[], "https://a.example/cb", false, "nothing registered"],
  ];
  for (const [registered, requested, expected, why] of cases) {
    test(`${why}: ${requested}`, () => {
      assert.equal(redirectUriMatches(registered, requested), expected);
    });
  }
});

describe("validateRedirectUriForRegistration (RFC 8252 §7, OAuth 2.1 §2.3.1)", () => {
  const accepted: Array<[string, string]> = [
    ["https://claude.ai/api/mcp/auth_callback", "https"],
    ["https://vscode.dev/redirect", "https"],
    ["https://a.example:8443/cb?x=1", "https"],
    ["http://127.0.0.1:33418/", "loopback"],
    ["http://127.0.0.1/cb", "loopback"],
    ["http://[::1]:8080/cb", "loopback"],
    ["http://localhost:3000/callback", "loopback"],
    ["com.example.app:/oauth2redirect/example-provider", "private-use"],
    ["com.example.app://callback", "private-use"],
  ];
  for (const [uri, kind] of accepted) {
    test(`accepts ${uri} as ${kind}`, () => {
      assert.deepEqual(validateRedirectUriForRegistration(uri), { ok: true, value: kind });
    });
  }

  const refused: Array<[string, string]> = [
    ["http://evil.example/cb", "http_not_loopback"],
    ["http://127.0.0.2/cb", "http_not_loopback"],
    ["http://127.1/cb", "http_not_loopback"],
    ["http://[0:0:0:0:0:0:0:1]/cb", "http_not_loopback"],
    ["http://localhost.evil.example/cb", "http_not_loopback"],
    ["https://a.example/cb#frag", "fragment"],
    ["https://a.example/cb#", "fragment"],
    ["/callback", "relative"],
    ["//a.example/cb", "relative"],
    ["https://user:pw@a.example/cb", "credentials"],
    ["https://a.example/c b", "bad_characters"],
    ["https://a.example/c\tb", "bad_characters"],
    ["https://a.example\\@evil.example/", "bad_characters"],
    ["HTTPS://a.example/cb", "scheme_case"],
    ["javascript:alert(1)", "forbidden_scheme"],
    ["data:text/html,hi", "forbidden_scheme"],
    ["file:///etc/passwd", "forbidden_scheme"],
    ["myapp://callback", "private_use_scheme_not_reverse_domain"],
    ["https:", "unparseable"],
    ["", "empty"],
    [`https://a.example/${"x".repeat(2001)}`, "too_long"],
  ];
  for (const [uri, reason] of refused) {
    test(`refuses ${JSON.stringify(uri.slice(0, 60))} (${reason})`, () => {
      const r = validateRedirectUriForRegistration(uri);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.error.reason, reason);
      assert.equal(r.error.code, "invalid_redirect_uri");
      assert.match(r.error.description, /^redirect_uri /);
    });
  }

  test("Cursor's dot-less scheme is admitted by default (its desktop app's callback); others are not", () => {
    assert.equal(validateRedirectUriForRegistration("cursor://anysphere.cursor-mcp/oauth/callback").ok, true);
    assert.equal(validateRedirectUriForRegistration("windsurf://cb").ok, false);
  });

  test("operator allow-list admits a dot-less private-use scheme, and only that one", () => {
    const policy = { extraPrivateUseSchemes: ["windsurf"] };
    assert.equal(validateRedirectUriForRegistration("windsurf://codeium.windsurf/oauth/cb", policy).ok, true);
    assert.equal(validateRedirectUriForRegistration("myapp://cb", policy).ok, false);
    assert.equal(
      validateRedirectUriForRegistration("javascript:alert(1)", { extraPrivateUseSchemes: ["javascript"] })
        .ok,
      false,
    );
  });

  test("the description never echoes control characters", () => {
    const r = validateRedirectUriForRegistration("https://a.example/\u0007\u001b[31m");
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok([...r.error.description].every((ch) => ch.charCodeAt(0) >= 0x20));
  });

  test("isLoopbackRedirectUri", () => {
    assert.equal(isLoopbackRedirectUri("http://127.0.0.1:1/x"), true);
    assert.equal(isLoopbackRedirectUri("http://localhost"), true);
    assert.equal(isLoopbackRedirectUri("https://127.0.0.1/x"), false);
    assert.equal(isLoopbackRedirectUri("http://127.0.0.1.nip.io/x"), false);
  });
});
