// Seeded Outlook data for Graph's /me/messages, /me/calendarView and /me/people (reference §10):
// deterministic per user, with dates relative to the emulator's clock so "today" always has meetings
// and the inbox always has recent mail. Payloads follow the shapes Graph v1.0 returns.
import { createHash } from "node:crypto";
import type { User } from "./tenant.ts";
import { TENANT_DOMAIN } from "./tenant.ts";

export interface Contact {
  name: string;
  address: string;
  jobTitle: string;
  department: string;
  officeLocation: string;
  phone: string | null;
}

/** Colleagues in the emulated tenant: senders, attendees and people results. */
export const COLLEAGUES: Contact[] = [
  ["Megan Bowen", "MeganB", "Marketing Manager", "Marketing", "12/1110", "+1 412 555 0109"],
  ["Lee Gu", "LeeG", "Director", "Manufacturing", "23/3101", "+1 913 555 0101"],
  ["Nestor Wilke", "NestorW", "Director", "Operations", "36/2121", "+1 404 555 0103"],
  ["Patti Fernandez", "PattiF", "President", "Executive Management", "15/1102", "+1 980 555 0101"],
  ["Isaiah Langer", "IsaiahL", "Sales Rep", "Sales", "20/1101", "+1 918 555 0101"],
  ["Johanna Lorenz", "JohannaL", "Senior Engineer", "Engineering", "23/2102", "+1 262 555 0106"],
  ["Lidia Holloway", "LidiaH", "Product Manager", "Engineering", "20/2107", "+1 918 555 0107"],
  ["Pradeep Gupta", "PradeepG", "Accountant II", "Finance", "98/2202", "+1 209 555 0102"],
  ["Grady Archie", "GradyA", "Designer", "R&D", "19/2109", null],
  ["Diego Siciliani", "DiegoS", "HR Manager", "HR", "14/1108", "+1 205 555 0108"],
  ["Lynne Robbins", "LynneR", "Planner", "Retail", "20/1104", "+1 918 555 0104"],
  ["Miriam Graham", "MiriamG", "Director", "Sales & Marketing", "131/2103", "+1 206 555 0105"],
].map(([name, alias, jobTitle, department, officeLocation, phone]) => ({
  name: name as string,
  address: `${alias}@${TENANT_DOMAIN}`,
  jobTitle: jobTitle as string,
  department: department as string,
  officeLocation: officeLocation as string,
  phone,
}));

const SUBJECTS = [
  [
    "Q3 retail forecast",
    "Attached is the updated forecast for the third quarter. Please review the store numbers",
  ],
  [
    "Team offsite agenda",
    "Here is the draft agenda for next week's offsite. Let me know if anything is missing",
  ],
  [
    "Re: Contoso Mark 8 launch",
    "Thanks for the update. The launch date works for us; marketing will send the",
  ],
  ["Expense report approved", "Your expense report for the trade show has been approved and will be paid"],
  [
    "Customer feedback summary",
    "The survey closed yesterday. Overall satisfaction is up four points compared",
  ],
  ["Store opening checklist", "Before the Bellevue opening we still need sign-off on signage, staffing and"],
  ["Lunch on Thursday?", "Are you free for lunch on Thursday? There is a new place next to building 18"],
  ["Security training reminder", "This is a reminder that the annual security awareness training is due by"],
  ["Inventory discrepancy", "We found a mismatch between the warehouse count and the system for SKU 4471"],
  ["Re: Holiday staffing", "I can cover the Saturday shifts in December if someone takes the Sunday ones"],
  [
    "Vendor contract renewal",
    "The contract with Fabrikam expires at the end of the month. Legal has reviewed",
  ],
] as const;

const MEETINGS = [
  ["Daily stand-up", 9, 0, 15, "Microsoft Teams Meeting", true],
  ["Retail planning review", 11, 0, 60, "Conf Room Baker", false],
  ["1:1 with Megan", 14, 0, 30, "Microsoft Teams Meeting", true],
  ["Store visit: Bellevue Square", 15, 30, 90, "Bellevue Square", false],
] as const;

const DAY_MS = 86_400_000;

function hex(seed: string, n: number): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, n);
}

/** An Exchange-style item id (base64 of stable bytes), like `AAMkAGI2…AAA=`. */
function itemId(kind: string, user: User, i: number): string {
  const bytes = createHash("sha256").update(`${kind}|${user.id}|${i}`).digest();
  return `AAMkA${Buffer.concat([bytes, bytes.subarray(0, 10)])
    .toString("base64")
    .replace(/\//g, "-")}AAA=`;
}

function changeKey(seed: string): string {
  return `CQAAABYAAAD${Buffer.from(hex(seed, 16), "hex").toString("base64").replace(/=+$/, "")}`;
}

/** Graph's `dateTimeTimeZone` form: local time without offset, seven fractional digits. */
function graphDateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$10000");
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

const recipient = (c: { name: string; address: string }) => ({
  emailAddress: { name: c.name, address: c.address },
});

function userContact(user: User): Contact {
  return {
    name: user.displayName,
    address: user.mail ?? user.userPrincipalName,
    jobTitle: user.jobTitle ?? "",
    department: user.department ?? "",
    officeLocation: user.officeLocation ?? "",
    phone: user.businessPhones[0] ?? null,
  };
}

/** 25 messages, newest first, the newest received an hour before `now`. */
export function seedMessages(user: User, now: number): Record<string, unknown>[] {
  const me = userContact(user);
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < 25; i++) {
    const [subject, preview] = SUBJECTS[i % SUBJECTS.length];
    const from = COLLEAGUES[(i * 5) % COLLEAGUES.length];
    const received = Math.floor((now - 3_600_000 - i * 5.5 * 3_600_000) / 1000) * 1000;
    const id = itemId("message", user, i);
    const conversationId = `AAQkA${hex(`conv|${user.id}|${i % 9}`, 40)}=`;
    const body = `<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><p>Hi ${user.givenName ?? user.displayName},</p><p>${preview}.</p><p>${from.name}</p></body></html>`;
    out.push({
      "@odata.etag": `W/"${changeKey(id)}"`,
      id,
      createdDateTime: iso(received),
      lastModifiedDateTime: iso(received + 60_000),
      changeKey: changeKey(id),
      categories: i % 7 === 0 ? ["Red category"] : [],
      receivedDateTime: iso(received),
      sentDateTime: iso(received - 2000),
      hasAttachments: i % 4 === 0,
      internetMessageId: `<${hex(id, 32).toUpperCase()}@${TENANT_DOMAIN.replace(".onmicrosoft.com", "")}.prod.outlook.com>`,
      subject,
      bodyPreview: `Hi ${user.givenName ?? user.displayName},\r\n\r\n${preview}.`,
      importance: i % 6 === 0 ? "high" : "normal",
      parentFolderId: `AQMkA${hex(`inbox|${user.id}`, 40)}AAAA==`,
      conversationId,
      conversationIndex: Buffer.from(hex(conversationId, 44), "hex").toString("base64"),
      isDeliveryReceiptRequested: false,
      isReadReceiptRequested: false,
      isRead: i > 2,
      isDraft: false,
      webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(id)}&exvsurl=1&viewmodel=ReadMessageItem`,
      inferenceClassification: i % 5 === 4 ? "other" : "focused",
      body: { contentType: "html", content: body },
      sender: recipient(from),
      from: recipient(from),
      toRecipients: [recipient(me)],
      ccRecipients: i % 3 === 0 ? [recipient(COLLEAGUES[(i + 1) % COLLEAGUES.length])] : [],
      bccRecipients: [],
      replyTo: [],
      flag: { flagStatus: i % 8 === 1 ? "flagged" : "notFlagged" },
    });
  }
  return out;
}

/** Meetings from three days before `now` to a week after, four a weekday, in UTC. */
export function seedEvents(user: User, now: number): Record<string, unknown>[] {
  const me = userContact(user);
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const out: Record<string, unknown>[] = [];
  let n = 0;
  for (let day = -3; day <= 7; day++) {
    const date = today + day * DAY_MS;
    const weekday = new Date(date).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    for (const [subject, hour, minute, minutes, location, online] of MEETINGS) {
      const start = date + (hour * 60 + minute) * 60_000;
      const end = start + minutes * 60_000;
      const organizer = n % 2 === 0 ? me : COLLEAGUES[n % COLLEAGUES.length];
      const others = [COLLEAGUES[(n + 1) % COLLEAGUES.length], COLLEAGUES[(n + 4) % COLLEAGUES.length]];
      const id = itemId("event", user, n++);
      const joinUrl = `https://teams.microsoft.com/l/meetup-join/19%3ameeting_${hex(id, 32)}%40thread.v2/0`;
      out.push({
        "@odata.etag": `W/"${changeKey(id)}"`,
        id,
        createdDateTime: iso(start - 7 * DAY_MS),
        lastModifiedDateTime: iso(start - 6 * DAY_MS),
        changeKey: changeKey(id),
        categories: [],
        transactionId: null,
        originalStartTimeZone: "UTC",
        originalEndTimeZone: "UTC",
        iCalUId: `040000008200E00074C5B7101A82E008000000${hex(id, 40).toUpperCase()}`,
        uid: `040000008200E00074C5B7101A82E008000000${hex(id, 40).toUpperCase()}`,
        reminderMinutesBeforeStart: 15,
        isReminderOn: true,
        hasAttachments: false,
        subject,
        bodyPreview: online
          ? "Microsoft Teams meeting\r\nJoin on your computer, mobile app or room device"
          : "",
        importance: "normal",
        sensitivity: "normal",
        isAllDay: false,
        isCancelled: false,
        isOrganizer: organizer.address === me.address,
        responseRequested: true,
        seriesMasterId: null,
        showAs: "busy",
        type: subject === "Daily stand-up" ? "occurrence" : "singleInstance",
        webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(id)}&exvsurl=1&path=/calendar/item`,
        onlineMeetingUrl: null,
        isOnlineMeeting: online,
        onlineMeetingProvider: online ? "teamsForBusiness" : "unknown",
        allowNewTimeProposals: true,
        isDraft: false,
        hideAttendees: false,
        responseStatus: {
          response: organizer.address === me.address ? "organizer" : "accepted",
          time: "0001-01-01T00:00:00Z",
        },
        body: { contentType: "html", content: "" },
        start: { dateTime: graphDateTime(start), timeZone: "UTC" },
        end: { dateTime: graphDateTime(end), timeZone: "UTC" },
        location: {
          displayName: location,
          locationType: online ? "default" : "conferenceRoom",
          uniqueId: location,
          uniqueIdType: "private",
        },
        locations: [
          { displayName: location, locationType: "default", uniqueId: location, uniqueIdType: "private" },
        ],
        recurrence: null,
        attendees: [me, ...others]
          .filter((a) => a.address !== organizer.address)
          .map((a) => ({
            type: "required",
            status: { response: "none", time: "0001-01-01T00:00:00Z" },
            emailAddress: { name: a.name, address: a.address },
          })),
        organizer: recipient(organizer),
        onlineMeeting: online ? { joinUrl } : null,
      });
    }
  }
  return out;
}

/** The people the user works with most, most relevant first (Graph's `person` resource). */
export function seedPeople(user: User, users: User[]): Record<string, unknown>[] {
  const colleagues: Contact[] = [...users.filter((u) => u.id !== user.id).map(userContact), ...COLLEAGUES];
  return colleagues.map((c, i) => {
    const [givenName, ...rest] = c.name.split(" ");
    return {
      id: `${hex(`person|${user.id}|${c.address}`, 8)}-${hex(c.address, 4)}-4${hex(c.address, 3)}-8${hex(c.name, 3)}-${hex(`${c.address}|${c.name}`, 12)}`,
      displayName: c.name,
      givenName,
      surname: rest.join(" ") || null,
      birthday: "",
      personNotes: "",
      isFavorite: false,
      jobTitle: c.jobTitle || null,
      companyName: null,
      yomiCompany: "",
      department: c.department || null,
      officeLocation: c.officeLocation || null,
      profession: "",
      userPrincipalName: c.address,
      imAddress: `sip:${c.address.toLowerCase()}`,
      scoredEmailAddresses: [
        {
          address: c.address,
          relevanceScore: Math.max(1, 20 - i * 1.5),
          selectionLikelihood: "notSpecified",
        },
      ],
      phones: c.phone ? [{ type: "business", number: c.phone }] : [],
      personType: { class: "Person", subclass: "OrganizationUser" },
    };
  });
}

/** Properties `$select` may name, per entity type (Graph answers 400 for any other). */
export const PROPERTIES = {
  message: Object.keys(seedMessagesShape()),
  event: Object.keys(seedEventShape()),
  person: Object.keys(seedPersonShape()),
};

function sampleUser(): User {
  return {
    id: "00000000-0000-0000-0000-000000000000",
    userPrincipalName: `x@${TENANT_DOMAIN}`,
    displayName: "X",
    givenName: null,
    surname: null,
    mail: null,
    jobTitle: null,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    businessPhones: [],
    department: null,
    companyName: null,
    city: null,
    country: null,
    usageLocation: null,
    employeeId: null,
    accountEnabled: true,
    photo: null,
  };
}
function seedMessagesShape() {
  const { "@odata.etag": _, ...rest } = seedMessages(sampleUser(), 0)[0];
  return rest;
}
function seedEventShape() {
  const { "@odata.etag": _, ...rest } = seedEvents(sampleUser(), 3 * DAY_MS)[0];
  return rest;
}
function seedPersonShape() {
  return seedPeople(sampleUser(), [])[0];
}
