import * as z from "zod";
import { defineTool, jsonResult } from "../tool.ts";

/** The signed-in user's Microsoft Graph profile (`GET /me`), exchanged On-Behalf-Of the user. */
export default defineTool({
  name: "get_graph_user_details",
  title: "Get my Microsoft Graph profile",
  description:
    "Gets the signed-in user's profile from Microsoft Graph (/me): display name, e-mail, user principal name, " +
    "job title, office, phones and id.",
  inputSchema: z.object({}),
  graphPermissions: ["User.Read"],
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(_input, { graph }) {
    const me = await graph.getJson("/me");
    return jsonResult({ ...me, success: true });
  },
});
