// The mail, calendar and people tools through a real MCP client (the v2 SDK on 2026-07-28), against
// the emulator's Graph: paging with opaque cursors, input validation, and incremental consent. A user
// who has not granted one tool's permission gets a consent link for exactly that permission (as a tool
// error, or as a URL elicitation when the client supports one), grants it in the browser pages, and the
// same call then works on the same connection.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { EmulatorUser } from "@entra-mcp/emulator";
import { signIn } from "@entra-mcp/emulator/signin";
import { freePort, type ServerProcess, type Stack, startServer, startStack } from "@entra-mcp/testing/stack";
import { TokenLedger } from "@entra-mcp/testing/token-ledger";
import type { ToolResultLike } from "@entra-mcp/testing/tool-results";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const MAIL = "https://graph.microsoft.com/Mail.Read";

describe("mail, calendar and people tools (Entra-direct mode, v2 client)", () => {
  let stack: Stack;
  let adele: EmulatorUser;
  let token = "";
  const ledger = new TokenLedger();
  const clients: Client[] = [];
  const servers: ServerProcess[] = [];

  /**
   * A second server on the same emulator: its Graph-token cache is empty, as after a restart, so a
   * permission revoked in the emulator shows at once (a cached Graph token stays valid until it expires,
   * as with real Entra).
   */
  async function freshServer(): Promise<string> {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    stack.emulator.apiApp.addRedirectUri(`${publicUrl}/oauth/consent-complete`);
    const server = await startServer({ ...stack.env, PUBLIC_URL: publicUrl }, { port, quiet: true });
    servers.push(server);
    return server.mcpUrl;
  }

  before(async () => {
    stack = await startStack({ authMode: "entra" });
    adele = stack.emulator.users.find((u) => u.consented) as EmulatorUser;
    token = await ledger.signIn(stack.emulator, adele);
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    for (const s of servers) await s.stop();
    await stack?.stop();
  });

  async function connect(
    capabilities: Record<string, unknown> = {},
    mcpUrl = stack.server.mcpUrl,
  ): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
      authProvider: { token: async () => token },
    });
    const client = new Client(
      { name: "graph-tools-e2e", version: "1.0.0" },
      { capabilities, versionNegotiation: { mode: "auto" } },
    );
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  const call = async (client: Client, name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as ToolResultLike & {
      structuredContent?: Record<string, unknown>;
    };

  test("the tools are listed with their annotations and input schemas", async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    for (const name of ["list_recent_mail", "get_my_calendar", "search_people"]) {
      const tool = tools.find((t) => t.name === name);
      assert.ok(tool, name);
      assert.equal(tool.annotations?.readOnlyHint, true);
      assert.equal(tool.annotations?.destructiveHint, false);
      assert.ok(tool.inputSchema.properties?.cursor, `${name} pages with a cursor`);
    }
  });

  test("list_recent_mail: newest first, and the cursor walks the whole mailbox once", async () => {
    const client = await connect();
    const ids = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    let previous = Number.POSITIVE_INFINITY;
    do {
      const r = await call(client, "list_recent_mail", { count: 10, ...(cursor ? { cursor } : {}) });
      assert.notEqual(r.isError, true, JSON.stringify(r.content));
      const page = r.structuredContent as {
        messages: { id: string; received: string }[];
        nextCursor: string | null;
      };
      for (const m of page.messages) {
        ids.add(m.id);
        assert.ok(Date.parse(m.received) <= previous, "newest first across pages");
        previous = Date.parse(m.received);
      }
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    assert.equal(ids.size, 25);
  });

  test("get_my_calendar: a week of meetings in start order, with join links; search_people by name", async () => {
    const client = await connect();
    const r = await call(client, "get_my_calendar", { days: 7, count: 50 });
    const cal = r.structuredContent as {
      events: { subject: string; start: string; joinUrl: string | null }[];
    };
    assert.ok(cal.events.length >= 12, `${cal.events.length} events in a week`);
    const starts = cal.events.map((e) => Date.parse(e.start));
    assert.deepEqual(
      [...starts].sort((a, b) => a - b),
      starts,
    );
    assert.ok(cal.events.some((e) => e.joinUrl?.startsWith("https://teams.microsoft.com/")));
    const people = await call(client, "search_people", { query: "meg" });
    assert.deepEqual(
      (people.structuredContent as { people: { name: string; email: string }[] }).people.map((p) => p.email),
      ["MeganB@contoso.onmicrosoft.com"],
    );
  });

  test("bad input is refused before any Graph call: out-of-range count, a foreign cursor, quotes", async () => {
    const client = await connect();
    stack.emulator.resetCounts();
    for (const [name, args] of [
      ["list_recent_mail", { count: 0 }],
      ["get_my_calendar", { date: "tomorrow" }],
      ["search_people", { query: 'a" or "b' }],
    ] as const) {
      const r = await call(client, name, args).catch((err: Error) => ({
        isError: true,
        content: [{ text: err.message }],
      }));
      assert.equal(r.isError, true, `${name} ${JSON.stringify(args)}`);
    }
    const foreign = Buffer.from("/me/people?$search=%22x%22&$skip=1").toString("base64url");
    const r = await call(client, "list_recent_mail", { cursor: foreign });
    assert.equal(r.isError, true);
    assert.equal(r.structuredContent?.error, "invalid_request");
    const counts = stack.emulator.counts();
    assert.equal(counts["graph.messages"] + counts["graph.people"] + counts["graph.calendarView"], 0);
  });

  test("a Graph CAE claims challenge is answered by one exchange with those claims, invisibly to the user", async () => {
    const client = await connect();
    await call(client, "search_people", { query: "lee" });
    stack.emulator.resetCounts();
    stack.emulator.faults.failNextGraph({
      status: 401,
      claims: '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}',
    });
    const r = await call(client, "search_people", { query: "lee" });
    assert.notEqual(r.isError, true, JSON.stringify(r.content));
    assert.equal((r.structuredContent as { people: { name: string }[] }).people[0]?.name, "Lee Gu");
    const counts = stack.emulator.counts();
    assert.equal(counts["graph.people"], 2, "the challenged call, then the retry");
    assert.equal(counts[`token.obo.${adele.oid}`], 1, "one exchange, with the claims");
  });

  test("incremental consent: the link asks for exactly Mail.Read; after consent the same call works", async () => {
    stack.emulator.revokeConsent(adele.oid, stack.emulator.apiApp.clientId, [MAIL]);
    const client = await connect({}, await freshServer());
    const refused = await call(client, "list_recent_mail");
    assert.equal(refused.isError, true);
    assert.equal(refused.structuredContent?.error, "consent_required");
    const link = new URL(String(refused.structuredContent?.url));
    assert.equal(link.searchParams.get("scope"), MAIL, "exactly the missing permission");
    assert.match(refused.content?.[0]?.text ?? "", /read your mail \(Mail\.Read\)/);
    // The other tools keep working meanwhile.
    assert.notEqual((await call(client, "get_my_calendar")).isError, true);

    const back = await signIn(link.href, { user: adele.upn, consent: true });
    const page = await (await fetch(back)).text();
    assert.match(page, /can now read your mail/);
    const after = await call(client, "list_recent_mail", { count: 3 });
    assert.notEqual(after.isError, true, JSON.stringify(after.content));
    assert.equal((after.structuredContent as { messages: unknown[] }).messages.length, 3);
  });

  test("a client with URL elicitation is sent to the consent link and its same call completes", async () => {
    stack.emulator.revokeConsent(adele.oid, stack.emulator.apiApp.clientId, [MAIL]);
    const client = await connect({ elicitation: { url: {} } }, await freshServer());
    const asked: string[] = [];
    client.setRequestHandler("elicitation/create", async (request) => {
      const params = request.params as { mode?: string; url?: string; message: string };
      assert.equal(params.mode, "url");
      asked.push(params.url ?? "");
      // The user opens the link and accepts, like a person would.
      await signIn(params.url ?? "", { user: adele.upn, consent: true });
      return { action: "accept" };
    });
    const r = await call(client, "list_recent_mail", { count: 2 });
    assert.notEqual(r.isError, true, JSON.stringify(r.content));
    assert.equal((r.structuredContent as { messages: unknown[] }).messages.length, 2);
    assert.equal(asked.length, 1);
    assert.equal(new URL(asked[0]).searchParams.get("scope"), MAIL);
  });

  test("a client that declines the elicitation gets the tool error with the link, not a loop", async () => {
    stack.emulator.revokeConsent(adele.oid, stack.emulator.apiApp.clientId, [MAIL]);
    const client = await connect({ elicitation: { url: {} } }, await freshServer());
    let asked = 0;
    client.setRequestHandler("elicitation/create", async () => {
      asked++;
      return { action: "decline" };
    });
    const r = await call(client, "list_recent_mail");
    assert.equal(r.isError, true);
    assert.equal(r.structuredContent?.error, "consent_required");
    assert.equal(asked, 1);
    stack.emulator.grantConsent(adele.oid, stack.emulator.apiApp.clientId, [MAIL]);
  });
});
