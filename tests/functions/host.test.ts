// The Functions host loads in a plain Node process and registers what the worker expects: one catch-all
// anonymous HTTP function and one timer. The registered callbacks are then called the way the worker calls
// them (trigger input, InvocationContext), against the real app.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { type FakeWorker, installFakeWorker } from "@entra-mcp/testing/fake-worker";

const worker: FakeWorker = installFakeWorker();
const { default: azureFunctions } = await import("@azure/functions");
const { HttpRequest, InvocationContext } = azureFunctions;

const ENV = {
  AUTH_MODE: "entra",
  PUBLIC_URL: "https://func-api-x.azurewebsites.net",
  ENTRA_TENANT_ID: "11111111-1111-4111-8111-111111111111",
  ENTRA_CLIENT_ID: "22222222-2222-4222-8222-222222222222",
  MANAGED_IDENTITY_CLIENT_ID: "33333333-3333-4333-8333-333333333333",
};

describe("api/src/hosts/functions.ts", () => {
  before(async () => {
    for (const name of Object.keys(ENV)) delete process.env[name];
    await import("../../api/src/hosts/functions.ts");
  });

  test("registers the @azure/functions programming model, one HTTP and one timer function", () => {
    assert.equal(worker.programmingModel?.name, "@azure/functions");
    assert.equal(worker.registrations.length, 2);
    const http = worker.byTrigger("httpTrigger");
    const timer = worker.byTrigger("timerTrigger");
    assert.ok(http && timer);
    const trigger = Object.values(http.metadata.bindings).find((b) => b.type === "httpTrigger")!;
    assert.equal(trigger.direction, "in");
    assert.equal(trigger.route, "{*path}");
    assert.equal(trigger.authLevel, "anonymous");
    assert.deepEqual([...(trigger.methods as string[])].sort(), [
      "DELETE",
      "GET",
      "HEAD",
      "OPTIONS",
      "PATCH",
      "POST",
      "PUT",
    ]);
    assert.ok(Object.values(http.metadata.bindings).some((b) => b.type === "http" && b.direction === "out"));
    const schedule = Object.values(timer.metadata.bindings).find((b) => b.type === "timerTrigger")!.schedule;
    assert.equal(schedule, "0 */15 * * * *");
  });

  test("without settings the HTTP function answers 500 and logs which settings are missing", async () => {
    const errors: unknown[][] = [];
    const context = new InvocationContext({
      logHandler: (level, ...args) => level === "error" && errors.push(args),
    });
    const http = worker.byTrigger("httpTrigger")!;
    const res = (await http.callback(
      new HttpRequest({ method: "GET", url: `${ENV.PUBLIC_URL}/api/health`, headers: {} }),
      context,
    )) as { status: number; jsonBody: { error: string; error_description: string } };
    assert.equal(res.status, 500);
    assert.equal(res.jsonBody.error, "server_error");
    assert.doesNotMatch(res.jsonBody.error_description, /PUBLIC_URL/);
    assert.match(String(errors[0]?.[0]), /PUBLIC_URL is required/);
  });

  test("with settings (read at the first request) the same app as the Node host answers", async () => {
    Object.assign(process.env, ENV);
    const http = worker.byTrigger("httpTrigger")!;
    const call = async (method: string, path: string) => {
      const init = (await http.callback(
        new HttpRequest({ method, url: `${ENV.PUBLIC_URL}${path}`, headers: { accept: "application/json" } }),
        new InvocationContext(),
      )) as ConstructorParameters<typeof azureFunctions.HttpResponse>[0];
      return new azureFunctions.HttpResponse(init);
    };

    const health = await call("GET", "/api/health");
    assert.equal(health.status, 200);
    const { checks, status, ...healthBody } = (await health.json()) as Record<string, unknown>;
    // Reachability of Entra ID from this machine, one word, no detail; the status follows from it.
    assert.deepEqual(Object.keys(checks as object), ["entra"]);
    assert.match(String((checks as { entra: string }).entra), /^(ok|unavailable)$/);
    assert.equal(status, (checks as { entra: string }).entra === "ok" ? "ok" : "degraded");
    const consent = new URL(String(healthBody.consentUrl));
    assert.deepEqual(healthBody, {
      authMode: "entra",
      resource: `${ENV.PUBLIC_URL}/api/mcp`,
      authorizationServer: `https://login.microsoftonline.com/${ENV.ENTRA_TENANT_ID}/v2.0`,
      scopes: [`api://${ENV.ENTRA_CLIENT_ID}/user_impersonation`],
      tenantId: ENV.ENTRA_TENANT_ID,
      clientId: ENV.ENTRA_CLIENT_ID,
      tools: healthBody.tools,
      graphPermissions: healthBody.graphPermissions,
      consentUrl: consent.href,
    });
    // The landing page's consent link: the user grants the server's Graph permission in Entra.
    assert.equal(
      consent.origin + consent.pathname,
      `https://login.microsoftonline.com/${ENV.ENTRA_TENANT_ID}/oauth2/v2.0/authorize`,
    );
    assert.equal(consent.searchParams.get("client_id"), ENV.ENTRA_CLIENT_ID);
    assert.equal(consent.searchParams.get("redirect_uri"), `${ENV.PUBLIC_URL}/oauth/consent-complete`);

    // Paths outside /api belong to the app too (routePrefix ""): Protected Resource Metadata.
    const prm = await call("GET", "/.well-known/oauth-protected-resource/api/mcp");
    assert.equal(prm.status, 200);
    assert.equal(((await prm.json()) as { resource: string }).resource, `${ENV.PUBLIC_URL}/api/mcp`);

    const mcp = await call("POST", "/api/mcp");
    assert.equal(mcp.status, 401);
    assert.match(mcp.headers.get("www-authenticate") ?? "", /resource_metadata="https:\/\/func-api-x/);
  });

  test("the timer function runs the sweep", async () => {
    const logs: unknown[][] = [];
    const timer = worker.byTrigger("timerTrigger")!;
    await timer.callback(
      { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: {} },
      new InvocationContext({ logHandler: (_level, ...args) => logs.push(args) }),
    );
    assert.match(String(logs[0]?.[0]), /"swept":0/);
  });
});
