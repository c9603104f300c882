import * as z from "zod";
import { base64 } from "../../core/encoding.ts";
import { defineTool } from "../tool.ts";

/** The signed-in user's profile photo as MCP image content (`GET /me/photo/$value`). */
export default defineTool({
  name: "get_my_photo",
  title: "Get my profile photo",
  description: "Gets the signed-in user's profile photo from Microsoft Graph, as an image.",
  inputSchema: z.object({}),
  graphPermissions: ["User.Read"],
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(_input, { graph }) {
    const photo = await graph.getBytes("/me/photo/$value");
    if (!photo) return { content: [{ type: "text", text: "You have no profile photo in Microsoft Graph." }] };
    return {
      content: [{ type: "image", data: base64(photo.bytes), mimeType: photo.contentType.split(";")[0] }],
    };
  },
});
