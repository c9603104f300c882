// Mail, calendar and people endpoints; per-permission consent; Conditional Access and CAE challenges.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { claimsOf, codeFor, form, miToken, startTrusted, tokenUrl, userToken } from "./fixtures/helpers.ts";
import type { Emulator } from "./index.ts";

const G = "https://graph.microsoft.com";
const CP1 = JSON.stringify({ access_token: { xms_cc: { values: ["cp1"] } } });

let em: Emulator;
let adele: Emulator["users"][number];
before(async () => {
  em = await startTrusted();
  adele = em.users.find((u) => u.consented)!;
});
after(() => em.stop());

async function obo(assertion: string, scope: string, claims?: string) {
  const res = await fetch(
    tokenUrl(em),
    form({
      client_id: em.apiApp.clientId,
      scope: `${scope} openid profile offline_access`,
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      requested_token_use: "on_behalf_of",
      assertion,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: await miToken(em),
      ...(claims ? { claims } : {}),
    }),
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function graphToken(scope: string, claims?: string): Promise<string> {
  const r = await obo((await userToken(em, adele.upn)).access_token, scope, claims);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return String(r.body.access_token);
}

const get = (path: string, token: string) =>
  fetch(path.startsWith("https:") ? path : `${em.graphBaseUrl}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });

describe("Outlook endpoints", () => {
  test("/me/messages: newest first, 10 a page, @odata.nextLink walks the mailbox, $select trims", async () => {
    const token = await graphToken(`${G}/Mail.Read`);
    const first = await get("/me/messages", token);
    assert.equal(first.status, 200);
    const page = (await first.json()) as { value: Record<string, unknown>[]; "@odata.nextLink"?: string };
    assert.equal(page.value.length, 10);
    const m = page.value[0];
    for (const k of ["id", "subject", "bodyPreview", "receivedDateTime", "from", "toRecipients", "isRead"])
      assert.ok(k in m, k);
    assert.deepEqual(
      (m.toRecipients as { emailAddress: { address: string } }[])[0].emailAddress.address,
      adele.mail,
    );
    const times = page.value.map((v) => Date.parse(String(v.receivedDateTime)));
    assert.deepEqual(
      [...times].sort((a, b) => b - a),
      times,
    );
    let next = page["@odata.nextLink"];
    assert.ok(next?.startsWith(`${em.graphBaseUrl}/me/messages?`), next);
    let total = page.value.length;
    while (next) {
      const r = (await (await get(next, token)).json()) as typeof page;
      total += r.value.length;
      next = r["@odata.nextLink"];
    }
    assert.equal(total, 25);
    const sel = (await (
      await get("/me/messages?$select=subject,from&$top=3", token)
    ).json()) as typeof page & {
      "@odata.context": string;
    };
    assert.equal(sel.value.length, 3);
    assert.deepEqual(Object.keys(sel.value[0]).sort(), ["@odata.etag", "from", "id", "subject"]);
    assert.match(sel["@odata.context"], /\/\$metadata#users\('[^']+'\)\/messages\(subject,from\)$/);
    assert.match(
      String(sel["@odata.nextLink"]),
      /%24select=subject%2Cfrom.*%24skip=3|\$select=subject%2Cfrom.*\$skip=3/,
    );
    const bad = await get("/me/messages?$select=nope", token);
    assert.equal(bad.status, 400);
    assert.match(
      ((await bad.json()) as { error: { message: string } }).error.message,
      /property named 'nope'/,
    );
  });

  test("/me/calendarView needs its window and returns the meetings inside it, by start", async () => {
    const token = await graphToken(`${G}/Calendars.Read`);
    const none = await get("/me/calendarView", token);
    assert.equal(none.status, 400);
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, "ErrorInvalidParameter");
    const start = new Date(Date.now() - 14 * 86400_000).toISOString();
    const end = new Date(Date.now() + 14 * 86400_000).toISOString();
    const r = await get(`/me/calendarView?startDateTime=${start}&endDateTime=${end}&$top=50`, token);
    assert.equal(r.status, 200);
    const body = (await r.json()) as {
      value: { start: { dateTime: string; timeZone: string }; subject: string }[];
    };
    assert.ok(body.value.length >= 20);
    assert.equal(body.value[0].start.timeZone, "UTC");
    assert.match(body.value[0].start.dateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$/);
    const starts = body.value.map((e) => e.start.dateTime);
    assert.deepEqual([...starts].sort(), starts);
  });

  test("/me/people ranks colleagues and $search narrows by name", async () => {
    const token = await graphToken(`${G}/People.Read`);
    const r = (await (await get(`/me/people?$search="meg"`, token)).json()) as {
      value: { displayName: string; scoredEmailAddresses: { address: string }[] }[];
    };
    assert.deepEqual(
      r.value.map((p) => p.displayName),
      ["Megan Bowen"],
    );
    const all = (await (await get("/me/people?$top=5", token)).json()) as {
      value: unknown[];
      "@odata.nextLink": string;
    };
    assert.equal(all.value.length, 5);
    assert.match(all["@odata.nextLink"], /skip=5/);
  });

  test("each endpoint needs its own permission: a User.Read token gets Exchange's 403", async () => {
    const token = await graphToken(`${G}/User.Read`);
    for (const path of ["/me/messages", "/me/people"]) {
      const r = await get(path, token);
      assert.equal(r.status, 403, path);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, "ErrorAccessDenied");
    }
    assert.equal((await get("/me", token)).status, 200);
  });
});

describe("per-permission consent", () => {
  test("OBO for a permission the user has not granted is AADSTS65001; others keep working", async () => {
    em.revokeConsent(adele.oid, em.apiApp.clientId, [`${G}/Mail.Read`]);
    try {
      const assertion = (await userToken(em, adele.upn)).access_token;
      const denied = await obo(assertion, `${G}/Mail.Read`);
      assert.equal(denied.status, 400);
      assert.equal(denied.body.error, "invalid_grant");
      assert.equal(denied.body.suberror, "consent_required");
      assert.match(
        String(denied.body.error_description),
        new RegExp(
          `^AADSTS65001: The user or administrator has not consented to use the application with ID '${em.apiApp.clientId}' named '${em.apiApp.displayName.replace(/[()]/g, "\\$&")}'. Send an interactive authorization request for this user and resource.`,
        ),
      );
      const ok = await obo(assertion, `${G}/Calendars.Read`);
      assert.equal(ok.status, 200);
      assert.equal(claimsOf(String(ok.body.access_token)).scp, "Calendars.Read openid profile email");
      // .default covers every permission the registration asks for, so it fails too.
      assert.equal((await obo(assertion, `${G}/.default`)).status, 400);
    } finally {
      em.grantConsent(adele.oid, em.apiApp.clientId, [`${G}/Mail.Read`]);
    }
    assert.ok(em.consentedScopes(adele.oid, em.apiApp.clientId).includes(`${G}/Mail.Read`));
  });
});

describe("claims challenges", () => {
  test("Conditional Access: OBO answers 50076/50079/53003 with claims until a sign-in carries them", async () => {
    const assertion = (await userToken(em, adele.upn)).access_token;
    for (const code of [50076, 50079, 53003] as const) {
      em.conditionalAccess.require(adele.oid, { code });
      const r = await obo(assertion, `${G}/User.Read`);
      assert.equal(r.status, 400);
      assert.deepEqual(r.body.error_codes, [code]);
      assert.equal(r.body.error, code === 50079 ? "interaction_required" : "invalid_grant");
      assert.match(String(r.body.claims), /"capolids"/);
    }
    em.conditionalAccess.require(adele.oid);
    const claims = String((await obo(assertion, `${G}/User.Read`)).body.claims);
    // The sign-in that carries the claims completes MFA; its token then passes.
    const { code, verifier, redirectUri, back } = await codeFor(em, adele.upn, {
      claims,
      login_hint: adele.upn,
    });
    assert.ok(code, back.toString());
    const res = await fetch(
      tokenUrl(em),
      form({
        client_id: em.publicClient.clientId,
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        scope: `${em.apiApp.appIdUri}/user_impersonation`,
      }),
    );
    const stepped = ((await res.json()) as { access_token: string }).access_token;
    assert.equal((await obo(stepped, `${G}/User.Read`)).status, 200);
    assert.equal((await obo(assertion, `${G}/User.Read`)).status, 400, "the old session still lacks MFA");
    em.conditionalAccess.clear();
  });

  test("CAE: cp1 gets xms_cc; after 'revoke sessions' Graph challenges with insufficient_claims, OBO with the old assertion is 50173", async () => {
    const assertion = (await userToken(em, adele.upn)).access_token;
    const capable = await obo(assertion, `${G}/User.Read`, CP1);
    const token = String(capable.body.access_token);
    assert.deepEqual(claimsOf(token).xms_cc, ["cp1"]);
    const plain = String((await obo(assertion, `${G}/User.Read`)).body.access_token);
    assert.equal(claimsOf(plain).xms_cc, undefined);
    assert.equal((await get("/me", token)).status, 200);
    em.cae.revokeSessions(adele.oid);
    const challenged = await get("/me", token);
    assert.equal(challenged.status, 401);
    const header = challenged.headers.get("www-authenticate") ?? "";
    assert.match(
      header,
      /^Bearer realm="", authorization_uri="[^"]+", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="([^"]+)"$/,
    );
    const claims = JSON.parse(Buffer.from(/claims="([^"]+)"/.exec(header)![1], "base64").toString());
    assert.equal(claims.access_token.nbf.essential, true);
    assert.match(claims.access_token.nbf.value, /^\d{10}$/);
    // A client that is not CAE-capable keeps its token until it expires, as with real Graph.
    assert.equal((await get("/me", plain)).status, 200);
    const refused = await obo(assertion, `${G}/User.Read`, JSON.stringify(claims));
    assert.deepEqual(refused.body.error_codes, [50173]);
    // A fresh sign-in works again.
    assert.equal(
      (await obo((await userToken(em, adele.upn)).access_token, `${G}/User.Read`, CP1)).status,
      200,
    );
  });

  test("failNextGraph with claims: a CAE challenge on the next Graph call", async () => {
    const token = await graphToken(`${G}/User.Read`, CP1);
    em.faults.failNextGraph({
      status: 401,
      claims: '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}',
    });
    const r = await get("/me", token);
    assert.equal(r.status, 401);
    assert.match(r.headers.get("www-authenticate") ?? "", /error="insufficient_claims", claims="eyJ/);
    assert.equal((await get("/me", token)).status, 200);
  });
});
