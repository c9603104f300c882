import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { claimsOf, miToken, obo, startTrusted, userToken } from "./fixtures/helpers.ts";
import type { Emulator } from "./index.ts";

let em: Emulator;
let graphToken: string;
let oboScope: string;
before(async () => {
  em = await startTrusted();
  const adele = em.users.find((u) => u.consented)!;
  const r = await obo(em, (await userToken(em, adele.upn)).access_token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  graphToken = String(r.body.access_token);
  oboScope = String(r.body.scope);
});
after(() => em.stop());

const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
  fetch(`${em.graphBaseUrl}${path}`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });

async function graphError(res: Response, status: number, code: string) {
  assert.equal(res.status, status);
  const body = (await res.json()) as {
    error: { code: string; message: string; innerError: Record<string, string> };
  };
  assert.equal(body.error.code, code);
  assert.equal(body.error.innerError["request-id"], res.headers.get("request-id"));
  assert.match(body.error.innerError.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  return body.error;
}

describe("OBO token shape", () => {
  test("v1 Graph token from the API app, response scope lists .default", async () => {
    // .default: every permission the registration asks for and the user granted, then `.default` itself.
    assert.equal(
      oboScope,
      ["User.Read", "Mail.Read", "Calendars.Read", "People.Read", ".default"]
        .map((s) => `https://graph.microsoft.com/${s}`)
        .join(" "),
    );
    const c = claimsOf(graphToken);
    assert.equal(c.aud, "https://graph.microsoft.com");
    assert.equal(c.iss, `https://sts.windows.net/${em.tenantId}/`);
    assert.equal(c.appid, em.apiApp.clientId);
    assert.equal(c.appidacr, "2");
    assert.equal(c.ver, "1.0");
    const header = JSON.parse(Buffer.from(graphToken.split(".")[0], "base64url").toString());
    assert.ok(header.nonce, "Graph tokens carry a nonce header (opaque to third parties)");
  });

  test("OBO assertion checks: wrong audience 500131, expired 500133, unknown kid 50013, HS256 forgery 50013", async () => {
    const cases: [string, number][] = [
      [await em.mintAccessToken({ aud: "11111111-1111-1111-1111-111111111111" }), 500131],
      [await em.mintAccessToken({ exp: Math.floor(Date.now() / 1000) - 10 }), 500133],
      [await em.mintAccessToken({}, { kid: "unknown-kid" }), 50013],
      [await em.mintAccessToken({}, { alg: "HS256" }), 50013],
      [await em.mintAccessToken({}, { alg: "none" }), 50013],
    ];
    for (const [assertion, code] of cases) {
      const r = await obo(em, assertion);
      assert.equal(r.status, 400, String(code));
      assert.deepEqual(r.body.error_codes, [code]);
      assert.equal(r.body.error, "invalid_grant");
      assert.equal(r.body.correlation_id, "7d1f0c52-0000-4000-8000-000000000001");
    }
  });

  test("faults.failNextObo returns that exact Entra error once", async () => {
    const assertion = await em.mintAccessToken();
    em.faults.failNextObo(50076);
    const r = await obo(em, assertion);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.error_codes, [50076]);
    assert.equal(r.body.suberror, "basic_action");
    assert.equal(typeof r.body.claims, "string");
    assert.equal((await obo(em, assertion)).status, 200);
  });
});

describe("Graph /me", () => {
  test("default property set in order, nulls, context and headers", async () => {
    const res = await get("/me", graphToken, { "client-request-id": "abc-123" });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^application\/json;odata\.metadata=minimal/);
    assert.equal(res.headers.get("client-request-id"), "abc-123");
    assert.ok(res.headers.get("request-id"));
    const me = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(me), [
      "@odata.context",
      "businessPhones",
      "displayName",
      "givenName",
      "jobTitle",
      "mail",
      "mobilePhone",
      "officeLocation",
      "preferredLanguage",
      "surname",
      "userPrincipalName",
      "id",
    ]);
    assert.equal(me["@odata.context"], `${em.graphBaseUrl}/$metadata#users/$entity`);
    assert.equal(me.mobilePhone, null);
    assert.equal(me.id, claimsOf(graphToken).oid);
  });

  test("$select repeats the list in the context URL", async () => {
    const me = (await (await get("/me?$select=displayName,mail,id,department", graphToken)).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(me), ["@odata.context", "displayName", "mail", "id", "department"]);
    assert.equal(
      me["@odata.context"],
      `${em.graphBaseUrl}/$metadata#users(displayName,mail,id,department)/$entity`,
    );
    await graphError(await get("/me?$select=nope", graphToken), 400, "BadRequest");
  });

  test("photo: JPEG bytes and metadata for Adele; ImageNotFound for Alex", async () => {
    const res = await get("/me/photo/$value", graphToken);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "image/jpeg");
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.deepEqual([...bytes.slice(0, 3)], [0xff, 0xd8, 0xff]);
    assert.deepEqual([...bytes.slice(-2)], [0xff, 0xd9]);
    const meta = (await (await get("/me/photo", graphToken)).json()) as Record<string, unknown>;
    assert.equal(meta["@odata.mediaContentType"], "image/jpeg");
    assert.equal(meta.width, 48);

    const alex = em.users.find((u) => !u.hasPhoto)!;
    const alexToken = await em.mintGraphToken({ oid: alex.oid, upn: alex.upn });
    const err = await graphError(await get("/me/photo/$value", alexToken), 404, "ImageNotFound");
    assert.match(err.message, /ImageNotFoundException/);
  });

  test("401 InvalidAuthenticationToken: missing, malformed, expired, API token (wrong audience), forged", async () => {
    const missing = await get("/me");
    assert.match(missing.headers.get("www-authenticate")!, /^Bearer realm=""/);
    assert.equal(
      (await graphError(missing, 401, "InvalidAuthenticationToken")).message,
      "Access token is empty.",
    );
    await graphError(await get("/me", "not-a-jwt"), 401, "InvalidAuthenticationToken");
    const expired = await em.mintGraphToken({ exp: Math.floor(Date.now() / 1000) - 5 });
    assert.match(
      (await graphError(await get("/me", expired), 401, "InvalidAuthenticationToken")).message,
      /expired/,
    );
    const apiToken = await em.mintAccessToken();
    assert.equal(
      (await graphError(await get("/me", apiToken), 401, "InvalidAuthenticationToken")).message,
      "Access token validation failure. Invalid audience.",
    );
    const forged = await em.mintGraphToken({}, { kid: "nope" });
    await graphError(await get("/me", forged), 401, "InvalidAuthenticationToken");
  });

  test("app-only token on /me is 400 BadRequest", async () => {
    const appToken = await miToken(em, "https://graph.microsoft.com");
    const err = await graphError(await get("/me", appToken), 400, "BadRequest");
    assert.equal(err.message, "/me request is only valid with delegated authentication flow.");
  });

  test("faults: 429 with integer Retry-After and the throttling body; 503", async () => {
    em.faults.failNextGraph({ status: 429, retryAfter: 7 });
    const res = await get("/me", graphToken);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "7");
    const body = (await res.json()) as { error: Record<string, unknown> };
    assert.equal(body.error.code, "TooManyRequests");
    assert.equal(body.error.message, "Please retry again later.");
    em.faults.failNextGraph({ status: 503 });
    assert.equal((await get("/me", graphToken)).status, 503);
    assert.equal((await get("/me", graphToken)).status, 200);
  });

  test("delayNext delays the next matching request", async () => {
    em.faults.delayNext("graph.me", 300);
    const t0 = Date.now();
    assert.equal((await get("/me", graphToken)).status, 200);
    assert.ok(Date.now() - t0 >= 290);
  });
});

describe("managed identity endpoint", () => {
  const mi = (query: Record<string, string>, header?: string) => {
    const u = new URL(em.identityEndpoint);
    u.search = new URLSearchParams(query).toString();
    return fetch(u, { headers: header === undefined ? {} : { "X-IDENTITY-HEADER": header } });
  };
  const q = () => ({
    "api-version": "2019-08-01",
    resource: "api://AzureADTokenExchange",
    client_id: em.managedIdentity.clientId,
  });

  test("App Service response shape: expires_on as a string", async () => {
    const res = await mi(q(), em.identityHeader);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), [
      "access_token",
      "expires_on",
      "resource",
      "token_type",
      "client_id",
    ]);
    assert.equal(typeof body.expires_on, "string");
    const c = claimsOf(String(body.access_token));
    assert.equal(c.aud, "fb60f99c-7a34-4190-8149-302f77469936");
    assert.equal(c.iss, em.issuer);
    assert.equal(Number(c.exp) - Number(c.iat), 86400);
    const byObjectId = await mi(
      {
        "api-version": "2019-08-01",
        resource: "api://AzureADTokenExchange",
        object_id: em.managedIdentity.principalId,
      },
      em.identityHeader,
    );
    assert.equal(byObjectId.status, 200);
  });

  test("errors use {statusCode,message,correlationId}: wrong header, unknown identity", async () => {
    for (const [res, status] of [
      [await mi(q(), "wrong"), 400],
      [await mi(q()), 400],
      [await mi({ ...q(), client_id: "00000000-0000-0000-0000-000000000001" }, em.identityHeader), 400],
    ] as const) {
      assert.equal(res.status, status);
      const body = (await res.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body), ["statusCode", "message", "correlationId"]);
    }
  });
});
