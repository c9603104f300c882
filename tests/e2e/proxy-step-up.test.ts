// Proxy mode step-up: a Conditional Access claims challenge from the On-Behalf-Of exchange reaches the
// user as a tool error with a step-up link. The link re-runs only the Entra leg of the sign-in with the
// claims and the user's login hint, the new Entra tokens are sealed into the user's existing grant, and
// the client's retry with the same token works: no reconnect.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { EmulatorUser } from "@entra-mcp/emulator";
import { signIn } from "@entra-mcp/emulator/signin";
import {
  ADELE,
  browse,
  type Client,
  CookieJar,
  callTool,
  registerClient,
  signInTokens,
} from "@entra-mcp/testing/authorization-server";
import { rpcResult } from "@entra-mcp/testing/mcp-request";
import { type Stack, startStack } from "@entra-mcp/testing/stack";

describe("step-up in proxy mode", () => {
  let stack: Stack;
  let client: Client;
  let adele: EmulatorUser;

  before(async () => {
    stack = await startStack({ authMode: "proxy" });
    client = await registerClient(stack);
    adele = stack.emulator.users.find((u) => u.upn === ADELE) as EmulatorUser;
  });
  after(() => stack?.stop());

  async function toolResult(token: string, name = "get_graph_user_details") {
    const r = await callTool(stack, token, name);
    assert.equal(r.status, 200, r.text);
    const rpc = await rpcResult(new Response(r.text, { headers: { "content-type": "application/json" } }));
    return rpc.result as {
      isError?: boolean;
      structuredContent?: Record<string, unknown>;
      content: { text: string }[];
    };
  }

  test("a claims challenge gives a step-up link; signing in there makes the same call work", async () => {
    const { access_token: token } = await signInTokens(stack, client);
    stack.emulator.conditionalAccess.require(adele.oid, { code: 50076 });
    try {
      const refused = await toolResult(token);
      assert.equal(refused.isError, true);
      assert.equal(refused.structuredContent?.error, "insufficient_claims");
      assert.match(refused.content[0].text, /AADSTS50076/);
      const link = String(refused.structuredContent?.url);
      assert.ok(link.startsWith(`${stack.server.url}/oauth/step-up?t=`), link);
      assert.ok(refused.content[0].text.includes(link), "the message carries the link");

      // Someone else opening the link cannot swap their sign-in into Adele's grant.
      const other = new CookieJar();
      const toEntraForOther = await browse(other, link);
      const otherCallback = await signIn(String(toEntraForOther.headers.get("location")), {
        user: stack.emulator.users.find((u) => u.upn !== ADELE)?.upn ?? "",
      });
      const refusedPage = await browse(other, otherCallback);
      assert.equal(refusedPage.status, 403);
      assert.match(await refusedPage.text(), /same account/);
      assert.equal((await toolResult(token)).isError, true, "still refused");

      // Adele opens a fresh link: only the Entra leg runs, with the claims and her login hint.
      const fresh = String((await toolResult(token)).structuredContent?.url);
      const jar = new CookieJar();
      const toEntra = await browse(jar, fresh);
      assert.equal(toEntra.status, 302);
      const entra = new URL(String(toEntra.headers.get("location")));
      assert.equal(entra.origin, stack.emulator.browserAuthorityHost);
      assert.equal(entra.searchParams.get("login_hint"), ADELE);
      assert.ok(JSON.parse(String(entra.searchParams.get("claims"))).access_token.capolids);
      const callback = await signIn(entra.href, { user: ADELE });
      const done = await browse(jar, callback);
      assert.equal(done.status, 200);
      assert.match(await done.text(), /Sign-in step completed/);

      // The client's retry, with the very same token, now works.
      const ok = await toolResult(token);
      assert.notEqual(ok.isError, true, JSON.stringify(ok.content));
      assert.equal(ok.structuredContent?.id, adele.oid);
      // The link is single-use.
      const again = await browse(new CookieJar(), fresh);
      assert.equal(again.status, 400);
    } finally {
      stack.emulator.conditionalAccess.clear();
    }
  });
});
