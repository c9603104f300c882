import * as z from "zod";
import { defineTool } from "../tool.ts";

/** The signed-in user's profile photo as MCP image content (`GET /me/photo/$value`). */
export default defineTool({
  name: "get_my_photo",
  title: "Get my profile photo",
  description: "Gets the signed-in user's profile photo from Microsoft Graph, as an image.",
  inputSchema: z.object({}),
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(_input, { graph }) {
    const photo = await graph.getBytes("/me/photo/$value");
    if (!photo) return { content: [{ type: "text", text: "You have no profile photo in Microsoft Graph." }] };
    return {
      content: [{ type: "image", data: toBase64(photo.bytes), mimeType: photo.contentType.split(";")[0] }],
    };
  },
});

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
