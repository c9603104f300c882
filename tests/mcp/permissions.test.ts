/**
 * One list of Graph permissions: what the tools declare. Everything that names them is generated from
 * those declarations, and this test fails when any of them disagrees: the Bicep input of the app
 * registration, the emulated app registration, the proxy's sign-in, the consent page, the landing page's
 * facts (`/api/health`) and its consent link, and each tool's own OBO exchange and consent link.
 * (The compiled template's `requiredResourceAccess` is checked in tests/infra/deployment.test.ts.)
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { start } from "@entra-mcp/emulator";
import {
  authorizeUrl,
  CookieJar,
  openConsent,
  postConsent,
  registerClient,
} from "@entra-mcp/testing/authorization-server";
import { type Stack, startStack } from "@entra-mcp/testing/stack";
import { GRAPH_PERMISSIONS, graphScope } from "../../api/src/config/graph-permissions.ts";
import {
  appRegistrationPermissions,
  appRegistrationPermissionsJson,
  graphPermissionsOf,
} from "../../api/src/mcp/permissions.ts";
import { tools } from "../../api/src/mcp/tools/index.ts";

const declared = graphPermissionsOf(tools);

describe("the tools' Graph permissions are the one source", () => {
  it("every Graph tool declares at least one permission, and only the tools that call Graph do", () => {
    for (const tool of tools) {
      const callsGraph = tool.name !== "whoami";
      assert.equal(tool.graphPermissions.length > 0, callsGraph, tool.name);
    }
    assert.deepEqual(declared, ["User.Read", "Mail.Read", "Calendars.Read", "People.Read"]);
  });

  it("infra/app/graph-permissions.json (the Bicep input) is generated from them", () => {
    const file = readFileSync(new URL("../../infra/app/graph-permissions.json", import.meta.url), "utf8");
    assert.equal(file, appRegistrationPermissionsJson(declared), "run: npm run permissions -- --write");
    const json = JSON.parse(file);
    assert.deepEqual(
      json.requiredResourceAccess[0].resourceAccess
        .slice(0, declared.length)
        .map((a: { id: string }) => a.id),
      declared.map((p) => GRAPH_PERMISSIONS[p].id),
    );
    assert.equal(json.adminConsentScope, appRegistrationPermissions(declared).adminConsentScope);
  });

  it("the emulated app registration asks for the same permissions", async () => {
    const em = await start();
    try {
      assert.deepEqual([...em.apiApp.requiredScopes].sort(), declared.map(graphScope).sort());
    } finally {
      await em.stop();
    }
  });
});

describe("the server names exactly the declared permissions", () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ authMode: "proxy" });
  });
  after(() => stack?.stop());

  it("/api/health lists them for the landing page, and its consent link asks for them", async () => {
    const health = (await (await fetch(`${stack.server.url}/api/health`)).json()) as {
      graphPermissions: { name: string; allows: string }[];
      consentUrl: string;
    };
    assert.deepEqual(
      health.graphPermissions,
      declared.map((name) => ({ name, allows: GRAPH_PERMISSIONS[name].allows })),
    );
    assert.deepEqual(
      new URL(health.consentUrl).searchParams.get("scope")?.split(" "),
      declared.map(graphScope),
    );
    const listed = (health as unknown as { tools: { name: string; graphPermissions: string[] }[] }).tools;
    assert.deepEqual(
      listed.map((t) => [t.name, t.graphPermissions]),
      tools.map((t) => [t.name, [...t.graphPermissions]]),
    );
  });

  it("the consent page says what each allows, and the sign-in asks Entra for each", async () => {
    const client = await registerClient(stack);
    const jar = new CookieJar();
    const page = await openConsent(jar, authorizeUrl(stack, { client }));
    for (const name of declared) {
      assert.ok(page.html.includes(name), `${name} on the consent page`);
      assert.ok(
        page.html.includes(GRAPH_PERMISSIONS[name].allows),
        `what ${name} allows, on the consent page`,
      );
    }
    const res = await postConsent(stack, jar, {
      request_id: page.requestId,
      csrf_token: page.csrf,
      decision: "approve",
    });
    const scope = new URL(res.headers.get("location") ?? "").searchParams.get("scope")?.split(" ") ?? [];
    for (const s of declared.map(graphScope)) assert.ok(scope.includes(s), `${s} asked at sign-in`);
  });
});
