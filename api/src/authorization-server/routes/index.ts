/**
 * The authorization server (proxy mode) as one sub-app: metadata, keys, registration, authorize,
 * consent, the Entra callback, token and revocation; the Connected apps page and the administrators'
 * endpoint over the same grants.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { ADMIN_GRANTS_PATH, CONNECTED_APPS_PATH } from "../../config/paths.ts";
import { StoreValueError } from "../../store/store.ts";
import { createGrantAdmin, mountAdminGrants } from "./admin-grants.ts";
import { mountAuthorize } from "./authorize.ts";
import { mountCallback } from "./callback.ts";
import { mountConnectedApps } from "./connected-apps.ts";
import type { AsContext } from "./context.ts";
import { authorizationServerMetadata, OAUTH_PATHS } from "./metadata.ts";
import { mountRegister } from "./register.ts";
import { mountStepUp } from "./step-up.ts";
import { mountTokenEndpoints } from "./token.ts";

export function authorizationServerRoutes(as: AsContext): Hono {
  const app = new Hono();
  // Browser-based clients call these cross-origin; none of them uses cookies, so any origin may.
  const open = cors({
    origin: "*",
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["Content-Type", "Authorization"],
    maxAge: 86400,
  });
  for (const path of [
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    OAUTH_PATHS.jwks,
    OAUTH_PATHS.token,
    OAUTH_PATHS.register,
    OAUTH_PATHS.revoke,
  ]) {
    app.use(path, open);
  }
  // The form and JSON bodies these endpoints read are small: refuse big ones before buffering them.
  const limit = bodyLimit({
    maxSize: as.config.maxBodyBytes,
    onError: (c) =>
      c.json(
        {
          error: "invalid_request",
          error_description: `Request body exceeds ${as.config.maxBodyBytes} bytes`,
        },
        413,
        // The body is left unread: the connection cannot carry another request, so it is closed
        // (RFC 9110 §15.5.14; RFC 9112 §9.6) rather than advertised as reusable.
        { "Cache-Control": "no-store", Connection: "close" },
      ),
  });
  for (const path of [
    OAUTH_PATHS.token,
    OAUTH_PATHS.register,
    OAUTH_PATHS.revoke,
    OAUTH_PATHS.consent,
    `${CONNECTED_APPS_PATH}/*`,
    `${ADMIN_GRANTS_PATH}/*`,
    ADMIN_GRANTS_PATH,
  ]) {
    app.use(path, limit);
  }
  // Oversized input the checks above let through must still be a client error, never a 500.
  app.onError((err, c) => {
    if (!(err instanceof StoreValueError)) throw err;
    as.logger.warn("request too large to store", { path: c.req.path, error: err.message });
    return c.json({ error: "invalid_request", error_description: "The request is too large." }, 400, {
      "Cache-Control": "no-store",
    });
  });
  const metadata = authorizationServerMetadata(as.config);
  app.get("/.well-known/oauth-authorization-server", (c) => c.json(metadata));
  app.get("/.well-known/openid-configuration", (c) => c.json(metadata));
  app.get(OAUTH_PATHS.jwks, async (c) =>
    c.json((await as.keyring.load(as.now())).signing.jwks, 200, { "Cache-Control": "max-age=300" }),
  );
  mountRegister(app, as);
  mountAuthorize(app, as);
  mountCallback(app, as);
  mountStepUp(app, as);
  mountTokenEndpoints(app, as);
  const admin = createGrantAdmin({ grants: as.grants, logger: as.logger });
  mountConnectedApps(app, as, admin);
  mountAdminGrants(app, as, admin);
  return app;
}
