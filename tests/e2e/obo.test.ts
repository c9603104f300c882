// Entra-direct mode (AUTH_MODE=entra): the server exchanges the caller's Entra token for a Graph token
// On-Behalf-Of the user with the real @azure/identity (client assertion = its managed identity's token,
// no secret), caches it per user, and turns Entra and Graph failures into tool errors a person can act
// on. The emulator counts every request, so the tests see each exchange and each Graph call.
//
// The tests in this file run in order and share one stack: the OBO cache in the server carries over
// from one test to the next, as it would for a real user.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { EmulatorUser } from "@entra-mcp/emulator";
import { signIn } from "@entra-mcp/emulator/signin";
import { rpcResult, toolCall } from "@entra-mcp/testing/mcp-request";
import { freePort, type ServerProcess, type Stack, startServer, startStack } from "@entra-mcp/testing/stack";
import { TokenLedger } from "@entra-mcp/testing/token-ledger";
import { assertIsUser, type ToolResultLike, toolJson, toolText } from "@entra-mcp/testing/tool-results";

describe("On-Behalf-Of Microsoft Graph in Entra-direct mode", () => {
  let stack: Stack;
  let adele: EmulatorUser; // consented to the server's Graph permission, has a photo
  let alex: EmulatorUser; // has not consented, has no photo
  let adeleToken = "";
  const ledger = new TokenLedger();
  const extraServers: ServerProcess[] = [];

  before(async () => {
    stack = await startStack({ authMode: "entra" });
    adele = stack.emulator.users.find((u) => u.consented && u.hasPhoto) as EmulatorUser;
    alex = stack.emulator.users.find((u) => !u.consented && !u.hasPhoto) as EmulatorUser;
    assert.ok(adele && alex, "the emulator seeds Adele (consented, photo) and Alex (neither)");
  });

  after(async () => {
    for (const s of extraServers) await s.stop();
    await stack?.stop();
  });

  async function call(token: string, name: string, mcpUrl = stack.server.mcpUrl): Promise<ToolResultLike> {
    const { headers, body } = toolCall(name);
    const res = await fetch(mcpUrl, {
      method: "POST",
      headers: { ...headers, authorization: `Bearer ${token}` },
      body,
    });
    assert.equal(res.status, 200, `tools/call ${name} answered HTTP ${res.status}`);
    const rpc = await rpcResult(res);
    assert.ok(rpc.result, `tools/call ${name} failed: ${JSON.stringify(rpc)}`);
    return rpc.result as ToolResultLike;
  }

  const count = (kind: string) => stack.emulator.counts()[kind] ?? 0;

  test("one OBO exchange per user per Graph-token lifetime, even across fresh Entra tokens", async () => {
    stack.emulator.resetCounts();
    adeleToken = await ledger.signIn(stack.emulator, adele);
    assertIsUser(toolJson(await call(adeleToken, "get_graph_user_details")), adele);
    assertIsUser(toolJson(await call(adeleToken, "get_graph_user_details")), adele);
    const fresh = await ledger.signIn(stack.emulator, adele);
    assert.notEqual(fresh, adeleToken);
    assertIsUser(toolJson(await call(fresh, "get_graph_user_details")), adele);

    assert.equal(count("token.obo"), 1, "one exchange for three calls by the same user");
    assert.equal(count("graph.me"), 3, "every call reached Graph");
    assert.ok(count("mi") <= 1, "the managed-identity assertion is fetched at most once");
  });

  test("no consent: AADSTS65001 with a consent link; after consenting the same call works (one more exchange for this second user)", async () => {
    const { emulator, server } = stack;
    const alexToken = await ledger.signIn(emulator, alex);
    const oboBefore = count("token.obo");

    const denied = await call(alexToken, "get_graph_user_details");
    assert.equal(denied.isError, true);
    const text = toolText(denied);
    assert.match(text, /AADSTS65001/);
    assert.equal(denied.structuredContent?.error, "consent_required");
    const link = text.match(/https?:\/\/\S+/)?.[0];
    assert.ok(link, `the message carries a consent URL: ${text}`);
    assert.equal(denied.structuredContent?.url, link);
    const consentUrl = new URL(link);
    assert.equal(
      `${consentUrl.origin}${consentUrl.pathname}`,
      `${emulator.browserAuthorityHost}/${emulator.tenantId}/oauth2/v2.0/authorize`,
    );
    assert.equal(consentUrl.searchParams.get("client_id"), emulator.apiApp.clientId);

    // Alex opens the link, signs in and accepts, like a person would; Entra sends him back to the server.
    const back = await signIn(link, { user: alex.upn, consent: true });
    assert.equal(`${back.origin}${back.pathname}`, `${server.url}/oauth/consent-complete`);
    assert.equal(back.searchParams.get("error"), null);
    const page = await fetch(back);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Consent granted/);

    assertIsUser(toolJson(await call(alexToken, "get_graph_user_details")), alex);
    assert.equal(count("token.obo"), oboBefore + 2, "the refused exchange, then one that succeeded");

    // Both users are now served from the cache.
    assertIsUser(toolJson(await call(alexToken, "get_graph_user_details")), alex);
    assertIsUser(toolJson(await call(adeleToken, "get_graph_user_details")), adele);
    assert.equal(count("token.obo"), oboBefore + 2);
  });

  test("whoami answers from the token alone: no OBO, no Graph, no managed identity", async () => {
    const before = stack.emulator.counts();
    const result = await call(adeleToken, "whoami");
    assert.deepEqual(stack.emulator.counts(), before, "the emulator saw no request at all");
    const me = toolJson(result);
    assert.equal(me.tenantId, stack.emulator.tenantId);
    assert.equal(me.objectId, adele.oid);
    assert.equal(me.name, adele.displayName);
    assert.deepEqual(me.scopes, [`${stack.emulator.apiApp.appIdUri}/${stack.emulator.apiApp.scope}`]);
    assert.equal(me.authMode, "entra");
  });

  test("Conditional Access (AADSTS50076 with claims): a 401 claims challenge; signing in with the claims makes the call work", async () => {
    // A second server on the same emulator starts with an empty Graph-token cache, so the call exchanges.
    const port = await freePort();
    const second = await startServer(
      { ...stack.env, PUBLIC_URL: `http://127.0.0.1:${port}` },
      { port, quiet: true },
    );
    extraServers.push(second);

    stack.emulator.conditionalAccess.require(adele.oid, { code: 50076 });
    try {
      const { headers, body } = toolCall("get_graph_user_details");
      const res = await fetch(second.mcpUrl, {
        method: "POST",
        headers: { ...headers, authorization: `Bearer ${adeleToken}` },
        body,
      });
      // Entra's claims challenge on the MCP challenge: the client signs in again with the claims.
      assert.equal(res.status, 401);
      const header = res.headers.get("www-authenticate") ?? "";
      assert.match(header, /^Bearer resource_metadata="[^"]+", scope="[^"]+", error="insufficient_claims"/);
      assert.match(header, /error_description="[^"]*AADSTS50076/);
      const claims = Buffer.from(/claims="([^"]+)"/.exec(header)?.[1] ?? "", "base64").toString();
      assert.ok(JSON.parse(claims).access_token.capolids, claims);
      const answer = (await res.json()) as { error: string; claims: string };
      assert.equal(answer.error, "insufficient_claims");
      assert.equal(answer.claims, claims);

      // The client's new sign-in carries the claims (Entra runs the extra step), and the same call works.
      const stepped = await ledger.signIn(stack.emulator, adele, { claims });
      stack.emulator.resetCounts();
      const results = await Promise.all(
        [1, 2, 3].map(() => call(stepped, "get_graph_user_details", second.mcpUrl)),
      );
      for (const r of results) assertIsUser(toolJson(r), adele);
      assert.equal(count("token.obo"), 1, "concurrent calls by one user share one exchange");
    } finally {
      stack.emulator.conditionalAccess.clear();
    }
  });

  test("CAE: after 'revoke sessions', the server's cp1 Graph token is challenged and the client must sign in again", async () => {
    const port = await freePort();
    const third = await startServer(
      { ...stack.env, PUBLIC_URL: `http://127.0.0.1:${port}` },
      { port, quiet: true },
    );
    extraServers.push(third);
    const before = await ledger.signIn(stack.emulator, adele);
    assertIsUser(toolJson(await call(before, "get_graph_user_details", third.mcpUrl)), adele);
    stack.emulator.cae.revokeSessions(adele.oid);
    const { headers, body } = toolCall("get_graph_user_details");
    const res = await fetch(third.mcpUrl, {
      method: "POST",
      headers: { ...headers, authorization: `Bearer ${before}` },
      body,
    });
    // The cached Graph token (cp1) drew Graph's insufficient_claims; the exchange with those claims found
    // the sign-in revoked (AADSTS50173): the client is told to sign in again.
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    assert.match(res.headers.get("www-authenticate") ?? "", /AADSTS50173/);
    const fresh = await ledger.signIn(stack.emulator, adele);
    assertIsUser(toolJson(await call(fresh, "get_graph_user_details", third.mcpUrl)), adele);
    adeleToken = fresh;
  });

  test("Graph throttling (429) is reported with its Retry-After; the server keeps serving", async () => {
    stack.emulator.faults.failNextGraph({ status: 429, retryAfter: 7 });
    const throttled = await call(adeleToken, "get_graph_user_details");
    assert.equal(throttled.isError, true);
    const text = toolText(throttled);
    assert.match(text, /throttling/);
    assert.match(text, /\b7 seconds\b/);
    assert.equal(throttled.structuredContent?.error, "throttled");
    assert.equal(throttled.structuredContent?.retryAfter, 7);

    assertIsUser(toolJson(await call(adeleToken, "get_graph_user_details")), adele);
  });

  test("Graph unavailable (503) is reported as such; the server keeps serving", async () => {
    stack.emulator.faults.failNextGraph({ status: 503 });
    const down = await call(adeleToken, "get_graph_user_details");
    assert.equal(down.isError, true);
    assert.match(toolText(down), /unavailable/);
    assert.equal(down.structuredContent?.error, "upstream_unavailable");

    assertIsUser(toolJson(await call(adeleToken, "get_graph_user_details")), adele);
  });

  test("Graph refusing a cached token (401): the server drops it, exchanges once more, and the call succeeds", async () => {
    stack.emulator.resetCounts();
    stack.emulator.faults.failNextGraph({ status: 401 });
    assertIsUser(toolJson(await call(adeleToken, "get_graph_user_details")), adele);
    const counts = stack.emulator.counts();
    assert.equal(counts["token.obo"], 1, "the refused Graph token was replaced by one new exchange");
    assert.equal(counts["graph.me"], 2, "one refused call, one retried call");
  });

  test("get_my_photo: a JPEG as MCP image content for Adele, a plain answer for Alex who has none", async () => {
    const photo = await call(adeleToken, "get_my_photo");
    assert.ok(!photo.isError, JSON.stringify(photo));
    const image = photo.content?.[0];
    assert.equal(image?.type, "image");
    assert.equal(image?.mimeType, "image/jpeg");
    const bytes = Buffer.from(image?.data ?? "", "base64");
    assert.ok(bytes.length > 100, "a real image, not an empty one");
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8], "JPEG start-of-image marker");

    // Alex consented in an earlier test; he has no photo.
    const alexToken = await ledger.signIn(stack.emulator, alex);
    const none = await call(alexToken, "get_my_photo");
    assert.ok(!none.isError, JSON.stringify(none));
    assert.match(toolText(none), /no profile photo/);
  });

  test("no token the tests used appears in any server's output", () => {
    assert.match(stack.server.output(), /tool failed/, "the failures above were logged");
    ledger.assertNotIn(stack.server.output());
    for (const s of extraServers) ledger.assertNotIn(s.output(), "second server output");
  });
});
