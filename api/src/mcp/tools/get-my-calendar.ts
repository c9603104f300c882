import * as z from "zod";
import { defineTool, jsonResult } from "../tool.ts";

const FIELDS =
  "subject,start,end,location,organizer,isAllDay,isCancelled,isOnlineMeeting,onlineMeeting,showAs,webLink";
const DAY_MS = 86_400_000;

interface Event {
  id: string;
  subject?: string;
  start?: { dateTime: string; timeZone: string };
  end?: { dateTime: string; timeZone: string };
  location?: { displayName?: string };
  organizer?: { emailAddress?: { name?: string; address?: string } };
  isAllDay?: boolean;
  isCancelled?: boolean;
  isOnlineMeeting?: boolean;
  onlineMeeting?: { joinUrl?: string } | null;
  showAs?: string;
  webLink?: string;
}

/** Graph's `dateTimeTimeZone` in UTC as an ISO instant. */
const instant = (t: Event["start"]) => (t ? `${t.dateTime.slice(0, 19)}Z` : null);

/** The signed-in user's meetings on a day, or several days (`GET /me/calendarView`), in start order. */
export default defineTool({
  name: "get_my_calendar",
  title: "Get my calendar",
  description:
    "Lists the signed-in user's meetings and appointments from Outlook for a day (today by default) or a few " +
    "days, in start order: subject, start and end (UTC), location, organizer and the online meeting link. " +
    "Pass `cursor` from a previous answer to get the next page.",
  inputSchema: z.object({
    date: z.iso.date().optional().describe("The first day, YYYY-MM-DD (UTC); today when absent."),
    days: z.number().int().min(1).max(31).default(1).describe("How many days from `date` (1-31)."),
    count: z.number().int().min(1).max(50).default(20).describe("How many events per page (1-50)."),
    cursor: z.string().max(4096).optional().describe("`nextCursor` from the previous page, to continue."),
  }),
  graphPermissions: ["Calendars.Read"],
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler({ date, days, count, cursor }, { graph }) {
    const start = date ? Date.parse(`${date}T00:00:00Z`) : Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const end = start + days * DAY_MS;
    const window = `startDateTime=${new Date(start).toISOString()}&endDateTime=${new Date(end).toISOString()}`;
    const page = await graph.getPage<Event>(
      `/me/calendarView?${window}&$select=${FIELDS}&$orderby=start/dateTime&$top=${count}`,
      cursor,
    );
    return jsonResult({
      from: new Date(start).toISOString(),
      to: new Date(end).toISOString(),
      events: page.items.map((e) => ({
        id: e.id,
        subject: e.subject ?? "",
        start: instant(e.start),
        end: instant(e.end),
        allDay: e.isAllDay ?? false,
        cancelled: e.isCancelled ?? false,
        location: e.location?.displayName || null,
        organizer: e.organizer?.emailAddress?.name ?? null,
        showAs: e.showAs ?? null,
        joinUrl: e.isOnlineMeeting ? (e.onlineMeeting?.joinUrl ?? null) : null,
        webLink: e.webLink ?? null,
      })),
      nextCursor: page.nextCursor ?? null,
    });
  },
});
