/**
 * Compatibility with the clients people bring, replayed from what each one sends (`client-fixtures.ts`,
 * every shape cited there): its registration as it POSTs it, its authorization request through the
 * consent page and the sign-in at the Entra emulator, its token request (public, or with the secret it
 * was issued, in the form or as HTTP Basic), a refresh (every client here registers for refresh tokens,
 * and most never ask for `offline_access`), and an MCP call that reaches Graph On-Behalf-Of the signed-in
 * user. One stack for the file; one table-driven test per client.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  assertWorks,
  browse,
  CookieJar,
  pkce,
  SCOPE as SERVER_SCOPE,
  toCallback,
} from "@entra-mcp/testing/authorization-server";
import { type Stack, startStack } from "@entra-mcp/testing/stack";
import { type ClientFixture, FIXTURES, SCOPE } from "./client-fixtures.ts";

let stack: Stack;

before(async () => {
  stack = await startStack({ authMode: "proxy" });
});
after(async () => {
  await stack?.stop();
});

const fill = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll(SCOPE, SERVER_SCOPE)) as T;

interface Registered {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: string;
}

/** A token request as `fixture`'s client sends it. */
async function tokenRequest(fixture: ClientFixture, client: Registered, form: Record<string, string>) {
  const body = new URLSearchParams(form);
  if (fixture.sendsResource) body.set("resource", stack.server.mcpUrl);
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (fixture.tokenAuth === "client_secret_basic") {
    const enc = encodeURIComponent;
    headers.authorization = `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret ?? "")}`).toString("base64")}`;
  } else {
    body.set("client_id", client.client_id);
    if (fixture.tokenAuth === "client_secret_post") body.set("client_secret", client.client_secret ?? "");
  }
  const res = await fetch(`${stack.server.url}/token`, { method: "POST", headers, body });
  const text = await res.text();
  assert.equal(res.status, 200, `${fixture.name}: ${text}`);
  return JSON.parse(text) as { access_token: string; refresh_token?: string; scope: string };
}

describe("real clients' requests, replayed: registration → consent → sign-in → token → refresh → MCP call", () => {
  FIXTURES.forEach((fixture, i) => {
    it(`${fixture.name} (${fixture.tokenAuth === "none" ? "public" : fixture.tokenAuth})`, async () => {
      // Registration, exactly as the client sends it (each client from its own address).
      const reg = await fetch(`${stack.server.url}/register`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": `198.51.100.${200 + i}` },
        body: JSON.stringify(fill(fixture.registration)),
      });
      const regText = await reg.text();
      assert.equal(reg.status, 201, `${fixture.name} could not register: ${regText}`);
      const client = JSON.parse(regText) as Registered;
      assert.equal(client.token_endpoint_auth_method, fixture.tokenAuth);
      assert.equal(typeof client.client_secret, fixture.tokenAuth === "none" ? "undefined" : "string");

      // The authorization request, through consent and the emulator's sign-in, back to the client.
      const p = pkce();
      const state = randomBytes(12).toString("base64url");
      const q = new URLSearchParams({
        response_type: "code",
        client_id: client.client_id,
        redirect_uri: fixture.redirectUri,
        scope: fill(fixture.scope),
        state,
        code_challenge: p.challenge,
        code_challenge_method: "S256",
      });
      if (fixture.sendsResource) q.set("resource", stack.server.mcpUrl);
      const jar = new CookieJar();
      const { callback, consentShown } = await toCallback(stack, jar, `${stack.server.url}/authorize?${q}`);
      assert.ok(consentShown, "the consent page names the client before anyone signs in");
      const back = await browse(jar, callback);
      assert.equal(back.status, 302, await back.text());
      const location = back.headers.get("location") ?? "";
      assert.ok(location.startsWith(`${fixture.redirectUri}?`), `back at the client: ${location}`);
      const answer = new URL(location).searchParams;
      assert.equal(answer.get("state"), state);
      assert.equal(answer.get("iss"), stack.server.url);
      const code = answer.get("code");
      assert.ok(code, location);

      // Token, MCP call, refresh, MCP call.
      const tokens = await tokenRequest(fixture, client, {
        grant_type: "authorization_code",
        code,
        redirect_uri: fixture.redirectUri,
        code_verifier: p.verifier,
      });
      const first = await assertWorks(stack, tokens.access_token, "get_graph_user_details");
      assert.match(first, /Adele Vance/);
      // "Stay signed in", ticked on the consent page, gives every client registered for the refresh_token
      // grant a refresh token, whether or not it asked for offline_access; the scope says it was granted.
      const grants = (fixture.registration.grant_types as string[] | undefined) ?? ["authorization_code"];
      const offline = grants.includes("refresh_token");
      assert.equal(typeof tokens.refresh_token, offline ? "string" : "undefined");
      assert.equal(tokens.scope.split(" ").includes("offline_access"), offline, tokens.scope);
      if (!offline) return;
      const refreshed = await tokenRequest(fixture, client, {
        grant_type: "refresh_token",
        refresh_token: tokens.refresh_token as string,
      });
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token, "rotated");
      const text = await assertWorks(stack, refreshed.access_token, "get_graph_user_details");
      assert.match(text, /Adele Vance/);
    });
  });
});
