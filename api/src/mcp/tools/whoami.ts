import * as z from "zod";
import { defineTool, jsonResult } from "../tool.ts";

/** The authenticated principal, straight from the validated token: no Graph call. */
export default defineTool({
  name: "whoami",
  title: "Who am I",
  description: "Returns who you are signed in as (tenant, object id, name, scopes) as this server sees it.",
  inputSchema: z.object({}),
  graphPermissions: [],
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handler(_input, { principal, config }) {
    return jsonResult({
      tenantId: principal.tenantId,
      objectId: principal.objectId,
      name: principal.name ?? null,
      username: principal.username ?? null,
      scopes: principal.scopes,
      clientId: principal.clientId ?? null,
      authMode: config.authMode,
    });
  },
});
