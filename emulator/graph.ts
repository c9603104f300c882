// A slice of Microsoft Graph v1.0: /me, /me/photo, /me/photo/$value (reference §10).
import { createHash, randomUUID } from "node:crypto";
import type { Context, Hono } from "hono";
import { applyFault, retryAfterHeader } from "./faults.ts";
import { sleep } from "./http.ts";
import { decodeJwt, verifyJwt } from "./keys.ts";
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
const READ_SCOPES = [
  "User.Read",
  "User.ReadBasic.All",
  "User.Read.All",
  "User.ReadWrite",
  "Directory.Read.All",
];
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

async function authenticate(state: State, c: Context, ids: Ids): Promise<Auth> {
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
  if (!scopes.some((s) => READ_SCOPES.includes(s))) {
    return {
      response: graphError(
        state,
        ids,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
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
    const kind = path.startsWith("/v1.0/me/photo")
      ? "graph.photo"
      : path === "/v1.0/me"
        ? "graph.me"
        : "graph.other";
    state.count(kind);
    const delay = state.takeDelay(kind);
    if (delay) await sleep(delay);
    const fault = state.faults.graph.shift();
    if (fault) {
      if (fault.status === 401) {
        return graphError(
          state,
          ids,
          401,
          "InvalidAuthenticationToken",
          "Lifetime validation failed, the token is expired.",
          {
            "WWW-Authenticate":
              'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
          },
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
    const auth = await authenticate(state, c, ids);
    if ("response" in auth) return auth.response;
    const user = auth.user;
    const headers = graphHeaders(ids.requestId, ids.clientRequestId);

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
