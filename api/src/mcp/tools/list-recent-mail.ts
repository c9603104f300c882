import * as z from "zod";
import { defineTool, jsonResult } from "../tool.ts";

const FIELDS = "subject,from,receivedDateTime,bodyPreview,isRead,importance,hasAttachments,webLink";

interface Message {
  id: string;
  subject?: string;
  from?: { emailAddress?: { name?: string; address?: string } };
  receivedDateTime?: string;
  bodyPreview?: string;
  isRead?: boolean;
  importance?: string;
  hasAttachments?: boolean;
  webLink?: string;
}

/** The signed-in user's most recent mail, newest first (`GET /me/messages`), a page at a time. */
export default defineTool({
  name: "list_recent_mail",
  title: "List my recent mail",
  description:
    "Lists the signed-in user's most recent e-mail messages, newest first: subject, sender, time received, " +
    "a preview of the body, read state and a link to open it in Outlook. Pass `cursor` from a previous " +
    "answer to get the next page.",
  inputSchema: z.object({
    count: z.number().int().min(1).max(50).default(10).describe("How many messages per page (1-50)."),
    cursor: z.string().max(4096).optional().describe("`nextCursor` from the previous page, to continue."),
  }),
  graphPermissions: ["Mail.Read"],
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler({ count, cursor }, { graph }) {
    const page = await graph.getPage<Message>(
      `/me/messages?$select=${FIELDS}&$orderby=receivedDateTime%20desc&$top=${count}`,
      cursor,
    );
    return jsonResult({
      messages: page.items.map((m) => ({
        id: m.id,
        subject: m.subject ?? "",
        from: m.from?.emailAddress?.name ?? m.from?.emailAddress?.address ?? null,
        fromAddress: m.from?.emailAddress?.address ?? null,
        received: m.receivedDateTime ?? null,
        preview: m.bodyPreview ?? "",
        unread: m.isRead === false,
        importance: m.importance ?? "normal",
        hasAttachments: m.hasAttachments ?? false,
        webLink: m.webLink ?? null,
      })),
      nextCursor: page.nextCursor ?? null,
    });
  },
});
