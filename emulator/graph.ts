// A slice of Microsoft Graph v1.0: /me, /me/photo, /me/photo/$value, /me/messages, /me/calendarView and
// /me/people (reference §10), each behind the delegated permission Graph requires for it, with
// Continuous Access Evaluation challenges for CAE-capable (`xms_cc: ["cp1"]`) tokens.
import { createHash, randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import { applyFault, retryAfterHeader } from "./faults.ts";
import { sleep } from "./http.ts";
import { decodeJwt, verifyJwt } from "./keys.ts";
import { PROPERTIES, seedEvents, seedMessages, seedPeople } from "./mailbox.ts";
import type { State } from "./state.ts";
import { GRAPH_APP_ID, GRAPH_RESOURCE, type User } from "./tenant.ts";

const DEFAULT_PROPERTIES = [
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
] as const;
const EXTRA_PROPERTIES = [
  "department",
  "companyName",
  "city",
  "country",
  "usageLocation",
  "employeeId",
  "accountEnabled",
];
/** Delegated permissions that open each endpoint (any one of them; Graph's permission reference). */
const ENDPOINT_SCOPES: Record<string, string[]> = {
  "graph.me": ["User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite", "Directory.Read.All"],
  "graph.photo": ["User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite", "Directory.Read.All"],
  "graph.messages": ["Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"],
  "graph.calendarView": ["Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"],
  "graph.people": ["People.Read", "People.Read.All"],
};
const ODATA_JSON =
  "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
const WWW_AUTH =
  'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';

function graphHeaders(requestId: string, clientRequestId: string): Record<string, string> {
  return {
    "Cache-Control": "private",
    "request-id": requestId,
    "client-request-id": clientRequestId,
    "x-ms-ags-diagnostic": JSON.stringify({
      ServerInfo: { DataCenter: "Local", Slice: "E", Ring: "5", ScaleUnit: "000", RoleInstance: "EMULATOR" },
    }),
    "x-ms-resource-unit": "1",
    "Strict-Transport-Security": "max-age=31536000",
  };
}

/** Height from the SOF0 segment (the seeded photos are square). */
function jpegHeight(bytes: Uint8Array): number {
  for (let i = 2; i + 6 < bytes.length; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xc0) return (bytes[i + 5] << 8) | bytes[i + 6];
  }
  return 0;
}

type Ids = { requestId: string; clientRequestId: string };

function graphError(
  state: State,
  ids: Ids,
  status: number,
  code: string,
  message: string,
  extra = {},
): Response {
  state.countError("graph");
  const date = new Date(state.now()).toISOString().slice(0, 19);
  const body =
    status === 429
      ? {
          error: {
            code: "TooManyRequests",
            innerError: {
              code: "429",
              date,
              message: "Please retry after",
              "request-id": ids.requestId,
              status: "429",
            },
            message: "Please retry again later.",
          },
        }
      : {
          error: {
            code,
            message,
            innerError: { date, "request-id": ids.requestId, "client-request-id": ids.clientRequestId },
          },
        };
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "Content-Type": "application/json",
      ...graphHeaders(ids.requestId, ids.clientRequestId),
      ...extra,
    },
  });
}

const SERVER_ERRORS: Record<number, [string, string]> = {
  500: ["generalException", "An unexpected error occurred."],
  502: ["BadGateway", "Bad Gateway"],
  503: ["serviceNotAvailable", "The service is temporarily unavailable. Please retry later."],
  504: ["GatewayTimeout", "Gateway Timeout"],
};

/** Graph's throttling answer (429) or a server error (5xx), `Retry-After` when given. */
function graphFault(state: State, ids: Ids, status: number, retryAfter: number | undefined): Response {
  const [code, message] = SERVER_ERRORS[status] ?? SERVER_ERRORS[500];
  return graphError(
    state,
    ids,
    status,
    status === 429 ? "TooManyRequests" : code,
    message,
    retryAfterHeader(retryAfter),
  );
}

type Auth = { user: User } | { response: Response };

/** The claims a CAE revocation asks for: a token issued after `validFrom` (ms). */
export function nbfClaims(validFrom: number): string {
  return JSON.stringify({
    access_token: { nbf: { essential: true, value: String(Math.floor(validFrom / 1000)) } },
  });
}

/** Graph's CAE challenge: the plain 401 header plus `error="insufficient_claims"` and the claims, base64. */
export function claimsChallenge(claims: string): string {
  return `${WWW_AUTH}, error="insufficient_claims", claims="${Buffer.from(claims).toString("base64")}"`;
}

async function authenticate(state: State, c: Context, ids: Ids, kind: string): Promise<Auth> {
  const fail401 = (message: string) => ({
    response: graphError(state, ids, 401, "InvalidAuthenticationToken", message, {
      "WWW-Authenticate": WWW_AUTH,
    }),
  });
  const header = c.req.header("authorization") ?? "";
  const token = header.match(/^Bearer\s+(.*)$/i)?.[1]?.trim() ?? "";
  if (!token) return fail401("Access token is empty.");
  if (!token.includes(".")) {
    return fail401(
      "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format.",
    );
  }
  const jwt = decodeJwt(token);
  if (!jwt) return fail401("IDX14102: Unable to decode the header as Base64Url encoded string.");
  const p = jwt.payload as Record<string, unknown>;
  if (p.aud !== GRAPH_RESOURCE && p.aud !== GRAPH_APP_ID && p.aud !== `${GRAPH_RESOURCE}/`) {
    return fail401("Access token validation failure. Invalid audience.");
  }
  if (await verifyJwt(jwt, state.keys, true)) return fail401("Access token validation failure.");
  if (p.iss !== state.v1Issuer && p.iss !== state.issuer)
    return fail401("Access token validation failure. Invalid issuer.");
  const now = state.now() / 1000;
  if (typeof p.exp !== "number" || p.exp <= now)
    return fail401("Lifetime validation failed, the token is expired.");
  if (typeof p.nbf === "number" && p.nbf > now + 300)
    return fail401("Lifetime validation failed, the token is not yet valid.");
  if (p.scp === undefined) {
    return {
      response: graphError(
        state,
        ids,
        400,
        "BadRequest",
        "/me request is only valid with delegated authentication flow.",
      ),
    };
  }
  const scopes = String(p.scp).split(" ");
  const allowed = ENDPOINT_SCOPES[kind] ?? [];
  if (!scopes.some((s) => allowed.includes(s))) {
    // Directory endpoints answer with Entra's code, Exchange-backed ones (mail, calendar, people) with Exchange's.
    const [code, message] =
      kind === "graph.me" || kind === "graph.photo"
        ? ["Authorization_RequestDenied", "Insufficient privileges to complete the operation."]
        : ["ErrorAccessDenied", "Access is denied. Check credentials and try again."];
    return { response: graphError(state, ids, 403, code, message) };
  }
  // CAE: a capable client's token issued before the user's sessions were revoked is challenged at once.
  const cae = Array.isArray(p.xms_cc) && p.xms_cc.includes("cp1");
  const validFrom = state.tokensValidFrom.get(String(p.oid));
  if (cae && validFrom !== undefined && typeof p.iat === "number" && p.iat * 1000 < validFrom) {
    return {
      response: graphError(
        state,
        ids,
        401,
        "InvalidAuthenticationToken",
        "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp",
        { "WWW-Authenticate": claimsChallenge(nbfClaims(validFrom)) },
      ),
    };
  }
  const user = state.user(String(p.oid));
  if (!user) {
    return {
      response: graphError(
        state,
        ids,
        404,
        "Request_ResourceNotFound",
        `Resource '${String(p.oid)}' does not exist or one of its queried reference-property objects are not present.`,
      ),
    };
  }
  return { user };
}

function userBody(
  state: State,
  user: User,
  select: string | undefined,
): { body: Record<string, unknown> } | { bad: string } {
  const all = user as unknown as Record<string, unknown>;
  const props = select
    ? select
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : [...DEFAULT_PROPERTIES];
  for (const prop of props) {
    if (!(DEFAULT_PROPERTIES as readonly string[]).includes(prop) && !EXTRA_PROPERTIES.includes(prop)) {
      return { bad: `Could not find a property named '${prop}' on type 'microsoft.graph.user'.` };
    }
  }
  const ctx = select
    ? `${state.graphBaseUrl}/$metadata#users(${select})/$entity`
    : `${state.graphBaseUrl}/$metadata#users/$entity`;
  const body: Record<string, unknown> = { "@odata.context": ctx };
  for (const prop of props) body[prop] = all[prop] ?? null;
  return { body };
}

export function mountGraph(app: Hono, state: State): void {
  app.all("*", async (c) => {
    const url = new URL(c.req.url);
    const requestId = randomUUID();
    const ids: Ids = { requestId, clientRequestId: c.req.header("client-request-id") ?? requestId };
    const path = url.pathname.replace(/\/+$/, "");
    const kind = graphKind(path);
    state.count(kind);
    const delay = state.takeDelay(kind);
    if (delay) await sleep(delay);
    const fault = state.faults.graph.shift();
    if (fault) {
      if (fault.status === 401 && fault.claims !== undefined) {
        return graphError(
          state,
          ids,
          401,
          "InvalidAuthenticationToken",
          "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: LocationConditionEvaluationSatisfied",
          { "WWW-Authenticate": claimsChallenge(fault.claims) },
        );
      }
      if (fault.status === 401) {
        return graphError(
          state,
          ids,
          401,
          "InvalidAuthenticationToken",
          "Lifetime validation failed, the token is expired.",
          { "WWW-Authenticate": WWW_AUTH },
        );
      }
      if (fault.status === 429) return graphFault(state, ids, 429, fault.retryAfter ?? 2);
      return graphFault(state, ids, fault.status, fault.status === 503 ? 5 : undefined);
    }
    const injected = await applyFault(
      state.faultSet,
      c,
      kind,
      (status, retryAfter) => graphFault(state, ids, status, retryAfter),
      path,
    );
    if (injected) return injected;
    if (kind === "graph.other") {
      const segment = path.split("/").filter(Boolean).pop() ?? "";
      return graphError(state, ids, 400, "BadRequest", `Resource not found for the segment '${segment}'.`);
    }
    if (c.req.method !== "GET") {
      return graphError(
        state,
        ids,
        405,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
      );
    }
    const auth = await authenticate(state, c, ids, kind);
    if ("response" in auth) return auth.response;
    const user = auth.user;
    const headers = graphHeaders(ids.requestId, ids.clientRequestId);
    if (kind === "graph.messages" || kind === "graph.calendarView" || kind === "graph.people") {
      return collection(state, ids, kind, url, user, headers);
    }

    if (path === "/v1.0/me") {
      const r = userBody(state, user, url.searchParams.get("$select") ?? undefined);
      if ("bad" in r) return graphError(state, ids, 400, "BadRequest", r.bad);
      return new Response(JSON.stringify(r.body), {
        status: 200,
        headers: { "Content-Type": ODATA_JSON, "OData-Version": "4.0", ...headers },
      });
    }
    const noPhoto = () =>
      graphError(
        state,
        ids,
        404,
        "ImageNotFound",
        "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
      );
    if (!user.photo) return noPhoto();
    const etag = `"${createHash("sha1").update(user.photo).digest("hex").slice(0, 8).toUpperCase()}"`;
    if (path === "/v1.0/me/photo/$value") {
      return new Response(new Uint8Array(user.photo), {
        status: 200,
        headers: {
          "Content-Type": "image/jpeg",
          "Content-Length": String(user.photo.length),
          ETag: etag,
          ...headers,
        },
      });
    }
    if (path === "/v1.0/me/photo") {
      const size = jpegHeight(user.photo);
      return new Response(
        JSON.stringify({
          "@odata.context": `${state.graphBaseUrl}/$metadata#Me/photo/$entity`,
          "@odata.mediaContentType": "image/jpeg",
          "@odata.mediaEtag": etag,
          id: `${size}x${size}`,
          width: size,
          height: size,
        }),
        { status: 200, headers: { "Content-Type": ODATA_JSON, "OData-Version": "4.0", ...headers } },
      );
    }
    return graphError(
      state,
      ids,
      400,
      "BadRequest",
      `Resource not found for the segment '${path.split("/").pop()}'.`,
    );
  });
}

function graphKind(path: string): string {
  if (path === "/v1.0/me") return "graph.me";
  if (path.startsWith("/v1.0/me/photo")) return "graph.photo";
  if (path === "/v1.0/me/messages" || path === "/v1.0/me/mailFolders/inbox/messages") return "graph.messages";
  if (path.toLowerCase() === "/v1.0/me/calendarview") return "graph.calendarView";
  if (path === "/v1.0/me/people") return "graph.people";
  return "graph.other";
}

const PAGE_SIZE = 10;
const MAX_TOP: Record<string, number> = {
  "graph.messages": 1000,
  "graph.calendarView": 1000,
  "graph.people": 1000,
};
const ENTITY: Record<string, { type: keyof typeof PROPERTIES; segment: string }> = {
  "graph.messages": { type: "message", segment: "messages" },
  "graph.calendarView": { type: "event", segment: "calendarView" },
  "graph.people": { type: "person", segment: "people" },
};

/** The time window of a calendarView request, or why Graph refuses it. */
function calendarWindow(url: URL): { start: number; end: number } | { bad: [string, string] } {
  const q = (name: string) => {
    for (const [k, v] of url.searchParams) if (k.toLowerCase() === name) return v;
    return undefined;
  };
  const start = q("startdatetime");
  const end = q("enddatetime");
  if (!start || !end) {
    return {
      bad: [
        "ErrorInvalidParameter",
        "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
      ],
    };
  }
  const s = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(start) ? start : `${start}Z`);
  const e = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(end) ? end : `${end}Z`);
  if (Number.isNaN(s))
    return {
      bad: ["ErrorInvalidParameter", `The value '${start}' of parameter 'StartDateTime' is invalid.`],
    };
  if (Number.isNaN(e))
    return { bad: ["ErrorInvalidParameter", `The value '${end}' of parameter 'EndDateTime' is invalid.`] };
  return { start: s, end: e };
}

const eventTime = (v: unknown) => Date.parse(`${(v as { dateTime: string }).dateTime.slice(0, 23)}Z`);

/** A page of a collection: `$top` (default 10), `$skip`, `$select`, `$search` (people), `@odata.nextLink`. */
function collection(
  state: State,
  ids: Ids,
  kind: string,
  url: URL,
  user: User,
  headers: Record<string, string>,
): Response {
  const { type, segment } = ENTITY[kind];
  const bad = (code: string, message: string) => graphError(state, ids, 400, code, message);
  const topRaw = url.searchParams.get("$top");
  const skipRaw = url.searchParams.get("$skip");
  const top = topRaw === null ? PAGE_SIZE : Number(topRaw);
  const skip = skipRaw === null ? 0 : Number(skipRaw);
  if (!Number.isInteger(top) || top < 0)
    return bad("BadRequest", `Invalid value '${topRaw}' for $top query option found.`);
  if (!Number.isInteger(skip) || skip < 0)
    return bad("BadRequest", `Invalid value '${skipRaw}' for $skip query option found.`);
  if (top > MAX_TOP[kind])
    return bad("ErrorInvalidParameter", `The value '${top}' of parameter 'Top' is invalid.`);
  const select = url.searchParams.get("$select");
  const props = select
    ? select
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean)
    : undefined;
  for (const prop of props ?? []) {
    if (!PROPERTIES[type].includes(prop)) {
      return bad(
        "RequestBroker--ParseUri",
        `Could not find a property named '${prop}' on type 'microsoft.graph.${type}'.`,
      );
    }
  }
  let items: Record<string, unknown>[];
  if (kind === "graph.messages") {
    items = seedMessages(user, state.now());
  } else if (kind === "graph.calendarView") {
    const w = calendarWindow(url);
    if ("bad" in w) return bad(...w.bad);
    items = seedEvents(user, state.now())
      .filter((e) => eventTime(e.start) < w.end && eventTime(e.end) > w.start)
      .sort((a, b) => eventTime(a.start) - eventTime(b.start));
  } else {
    items = seedPeople(user, state.users);
    const search = url.searchParams.get("$search")?.replace(/^"|"$/g, "").trim().toLowerCase();
    if (search) {
      items = items.filter((p) =>
        [p.displayName, p.givenName, p.surname, p.userPrincipalName].some((v) =>
          String(v ?? "")
            .toLowerCase()
            .startsWith(search),
        ),
      );
    }
  }
  const page = items.slice(skip, skip + top).map((item) => {
    if (!props) return item;
    const out: Record<string, unknown> = {};
    if (item["@odata.etag"] !== undefined) out["@odata.etag"] = item["@odata.etag"];
    out.id = item.id;
    for (const prop of props) out[prop] = item[prop] ?? null;
    return out;
  });
  const body: Record<string, unknown> = {
    "@odata.context": `${state.graphBaseUrl}/$metadata#users('${user.id}')/${segment}${select ? `(${select})` : ""}`,
  };
  if (skip + top < items.length && top > 0) {
    // Graph's next link is absolute and keeps every other query option; only $skip moves on.
    const next = new URL(`${state.graphBaseUrl}${url.pathname.replace(/^\/v1\.0/, "")}`);
    for (const [k, v] of url.searchParams) if (k !== "$skip") next.searchParams.set(k, v);
    next.searchParams.set("$skip", String(skip + top));
    body["@odata.nextLink"] = next.toString();
  }
  body.value = page;
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { "Content-Type": ODATA_JSON, "OData-Version": "4.0", ...headers },
  });
}
