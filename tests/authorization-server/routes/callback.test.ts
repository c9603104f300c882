/**
 * `/oauth/callback` when the server cannot redeem Entra's code: the client (and the person at it) learns
 * why. A managed identity the server cannot use is a misconfiguration, not Entra being unreachable.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TokenCredential } from "@azure/identity";
import { createApp } from "../../../api/src/app.ts";
import { loadConfig } from "../../../api/src/config/config.ts";
import { silentLogger } from "../../../api/src/core/log.ts";
import { createAssertionProvider } from "../../../api/src/entra/obo.ts";
import { MemoryStore } from "../../../api/src/store/memory.ts";

const PUBLIC_URL = "http://127.0.0.1:7071";
const REDIRECT_URI = "http://127.0.0.1:9999/cb";
const config = loadConfig({
  AUTH_MODE: "proxy",
  PUBLIC_URL,
  ENTRA_TENANT_ID: "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
  ENTRA_CLIENT_ID: "8e4b2a1c-6d3f-4a5e-9b8c-7d6e5f4a3b2c",
  MANAGED_IDENTITY_CLIENT_ID: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
  STORAGE_TABLE_ENDPOINT: "http://127.0.0.1:10002/devstoreaccount1",
  OAUTH_CLIENTS: JSON.stringify([{ client_id: "test-app", redirect_uris: [REDIRECT_URI] }]),
});

/** A browser's cookies across the three requests of a sign-in. */
class Jar {
  readonly cookies = new Map<string, string>();
  take(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
  }
  get header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

/** Authorize, approve, and come back from Entra with a code; returns where the client is sent. */
async function signInReturning(app: ReturnType<typeof createApp>): Promise<URL> {
  const { back } = await signInCallback(app);
  assert.equal(back.status, 302);
  return new URL(back.headers.get("location") ?? "");
}

/** Authorize, approve, and come back from Entra with a code; returns the callback's answer and how to repeat it. */
async function signInCallback(
  app: ReturnType<typeof createApp>,
): Promise<{ back: Response; again: () => Promise<Response> }> {
  const jar = new Jar();
  const authorize = new URL("/authorize", PUBLIC_URL);
  authorize.search = new URLSearchParams({
    client_id: "test-app",
    redirect_uri: REDIRECT_URI,
    response_type: "code",
    code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    code_challenge_method: "S256",
    state: "client-state",
  }).toString();
  const consent = await app.request(authorize);
  assert.equal(consent.status, 200);
  jar.take(consent);
  const html = await consent.text();
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1] ?? "";
  const approved = await app.request(new URL("/authorize/consent", PUBLIC_URL), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header },
    body: new URLSearchParams({
      request_id: field("request_id"),
      csrf_token: field("csrf_token"),
      decision: "approve",
    }),
  });
  assert.equal(approved.status, 302);
  jar.take(approved);
  const toEntra = new URL(approved.headers.get("location") ?? "");
  const callback = new URL("/oauth/callback", PUBLIC_URL);
  callback.search = new URLSearchParams({
    code: "entra-code",
    state: toEntra.searchParams.get("state") ?? "",
  }).toString();
  const back = await app.request(callback, { headers: { cookie: jar.header } });
  return { back, again: async () => app.request(callback, { headers: { cookie: jar.header } }) };
}

describe("/oauth/callback: the code cannot be redeemed", () => {
  it("the managed identity fails: server_error naming the managed identity, not 'unreachable'", async () => {
    const brokenIdentity: TokenCredential = {
      getToken: async () => {
        throw new Error("ManagedIdentityCredential: no managed identity endpoint found");
      },
    };
    const app = createApp(config, {
      store: new MemoryStore(),
      getAssertion: createAssertionProvider(config, brokenIdentity),
      fetch: async () => {
        throw new Error("Entra must not be called without the server's client assertion");
      },
      logger: silentLogger,
    });
    const back = await signInReturning(app);
    assert.equal(back.origin + back.pathname, REDIRECT_URI);
    assert.equal(back.searchParams.get("state"), "client-state");
    assert.equal(back.searchParams.get("error"), "server_error");
    const description = back.searchParams.get("error_description") ?? "";
    assert.match(description, /managed identity/);
    assert.doesNotMatch(description, /unreachable|could not be reached/);
  });

  it("Entra is down: a page that says try again, with Retry-After; the sign-in stays open for it", async () => {
    let calls = 0;
    const app = createApp(config, {
      store: new MemoryStore(),
      getAssertion: async () => "mi-assertion",
      fetch: async () => {
        calls++;
        return Response.json(
          { error: "temporarily_unavailable" },
          { status: 503, headers: { "retry-after": "7" } },
        );
      },
      logger: silentLogger,
    });
    const { back, again } = await signInCallback(app);
    assert.equal(back.status, 503);
    assert.equal(back.headers.get("retry-after"), "7");
    assert.match(back.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await back.text(), /try again in 7 seconds/);
    assert.equal(calls, 1, "a Retry-After longer than a quick retry is not waited out");
    // Reloading finds the same sign-in (not "Sign-in expired"), and tries Entra again.
    const second = await again();
    assert.equal(second.status, 503);
    assert.equal(calls, 2);
  });
});
