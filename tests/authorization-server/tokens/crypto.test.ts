import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DecryptError,
  decryptJson,
  encryptJson,
  generateGrantKey,
  unwrapKey,
  wrapKey,
} from "../../../api/src/authorization-server/tokens/crypto.ts";
import { randomToken, sha256b64url } from "../../../api/src/core/encoding.ts";

/** Flips one character of the ciphertext part, keeping it valid base64url. */
function tamper(sealed: string): string {
  const i = sealed.length - 5;
  return sealed.slice(0, i) + (sealed[i] === "A" ? "B" : "A") + sealed.slice(i + 1);
}

describe("store crypto", () => {
  test("sha256b64url matches the known digest", async () => {
    assert.equal(await sha256b64url("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  });

  test("randomToken is base64url of the requested length and unique", () => {
    const a = randomToken();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, randomToken());
    assert.equal(randomToken(16).length, 22);
  });

  test("grant key: encrypt once, wrap per token, unwrap only with that token", async () => {
    const grantKey = await generateGrantKey();
    const props = await encryptJson(grantKey, { upstream: "secret-entra-token" }, "g1");
    const access = randomToken();
    const refresh = randomToken();
    const wrappedForAccess = await wrapKey(grantKey, access);
    const wrappedForRefresh = await wrapKey(grantKey, refresh);
    for (const [wrapped, secret] of [
      [wrappedForAccess, access],
      [wrappedForRefresh, refresh],
    ]) {
      const key = await unwrapKey(wrapped, secret);
      assert.deepEqual(await decryptJson(key, props, "g1"), { upstream: "secret-entra-token" });
    }
    // A refresh re-wraps the unwrapped key under the next token.
    const next = randomToken();
    const rewrapped = await wrapKey(await unwrapKey(wrappedForRefresh, refresh), next);
    assert.deepEqual(await decryptJson(await unwrapKey(rewrapped, next), props, "g1"), {
      upstream: "secret-entra-token",
    });
    await assert.rejects(unwrapKey(wrappedForAccess, refresh), DecryptError);
    await assert.rejects(unwrapKey(tamper(wrappedForAccess), access), DecryptError);
    await assert.rejects(decryptJson(grantKey, tamper(props), "g1"), DecryptError);
    await assert.rejects(decryptJson(await generateGrantKey(), props, "g1"), DecryptError);
  });
});
