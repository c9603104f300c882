// App Service / Functions managed-identity endpoint, api-version 2019-08-01 (reference §8.2–§8.4).
// Plain HTTP, like the platform's loopback endpoint. Only the user-assigned identity exists.
import { randomUUID } from "node:crypto";
import type { Hono } from "hono";
import { applyFault, retryAfterHeader } from "./faults.ts";
import { json, sleep } from "./http.ts";
import type { State } from "./state.ts";
import {
  GRAPH_APP_ID,
  GRAPH_RESOURCE,
  MANAGED_IDENTITY,
  TOKEN_EXCHANGE_APP_ID,
  TOKEN_EXCHANGE_AUDIENCE,
} from "./tenant.ts";

const MI_LIFETIME = 86400;

export function mountManagedIdentity(app: Hono, state: State): void {
  app.get("*", async (c) => {
    const url = new URL(c.req.url);
    const path = url.pathname.toLowerCase().replace(/\/+$/, "");
    const fault = (status: number, message: string, headers: Record<string, string> = {}) => {
      state.countError("mi");
      return json({ statusCode: status, message, correlationId: randomUUID() }, status, headers);
    };
    if (path !== "/msi/token") return fault(404, `No route matches ${url.pathname}.`);
    state.count("mi");
    const delay = state.takeDelay("mi");
    if (delay) await sleep(delay);
    const injected = await applyFault(state.faultSet, c, "mi", (status, retryAfter) =>
      fault(
        status,
        status === 429
          ? "Too many requests to the managed identity endpoint. Retry later."
          : "An unexpected error occurred while getting the token from Microsoft Entra ID. Retry later.",
        retryAfterHeader(retryAfter),
      ),
    );
    if (injected) return injected;
    if (c.req.header("x-identity-header") !== state.identityHeader) {
      return fault(400, "The request is missing the X-IDENTITY-HEADER header or its value is not valid.");
    }
    const q = url.searchParams;
    if (q.get("api-version") !== "2019-08-01") {
      return fault(400, `The api-version '${q.get("api-version") ?? ""}' is not supported. Use 2019-08-01.`);
    }
    const resource = q.get("resource");
    if (!resource) return fault(400, "The 'resource' query parameter is required.");
    const selectors = ["client_id", "object_id", "principal_id", "mi_res_id"].filter((k) => q.has(k));
    if (selectors.length > 1) {
      return fault(400, "Only one of client_id, object_id, principal_id or mi_res_id may be specified.");
    }
    if (selectors.length === 0) {
      return fault(
        400,
        "No system-assigned managed identity is enabled for this app. Specify a user-assigned identity.",
      );
    }
    const key = selectors[0];
    const value = q.get(key)!;
    const expected =
      key === "client_id"
        ? MANAGED_IDENTITY.clientId
        : key === "mi_res_id"
          ? MANAGED_IDENTITY.resourceId
          : MANAGED_IDENTITY.principalId;
    const matches = key === "mi_res_id" ? value.toLowerCase() === expected.toLowerCase() : value === expected;
    if (!matches)
      return fault(400, `No user-assigned managed identity with ${key} '${value}' is assigned to this app.`);

    const res = resource.replace(/\/\.default$/, "");
    let token: string;
    let lifetime = MI_LIFETIME;
    if (res === TOKEN_EXCHANGE_AUDIENCE || res === TOKEN_EXCHANGE_APP_ID) {
      token = await state.sign(state.managedIdentityClaims(TOKEN_EXCHANGE_APP_ID, lifetime));
    } else if (res === GRAPH_RESOURCE || res === GRAPH_APP_ID || res === `${GRAPH_RESOURCE}/`) {
      lifetime = 86399;
      const claims = state.appOnlyClaims(
        res,
        MANAGED_IDENTITY.clientId,
        MANAGED_IDENTITY.principalId,
        true,
        lifetime,
      );
      token = await state.signGraph(claims);
    } else if (res === state.api.appIdUri || res === state.api.clientId) {
      const claims = state.managedIdentityClaims(state.api.clientId, lifetime);
      token = await state.sign(claims);
    } else {
      return fault(
        500,
        `AADSTS500011: The resource principal named ${res} was not found in the tenant named ${state.tenantId}.`,
      );
    }
    const expiresOn = Math.floor(state.now() / 1000) + lifetime;
    return json(
      {
        access_token: token,
        expires_on: String(expiresOn),
        resource,
        token_type: "Bearer",
        client_id: MANAGED_IDENTITY.clientId,
      },
      200,
      { "Content-Type": "application/json" },
    );
  });
}
