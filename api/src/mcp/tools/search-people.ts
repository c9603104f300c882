import * as z from "zod";
import { defineTool, jsonResult } from "../tool.ts";

const FIELDS = "displayName,jobTitle,department,officeLocation,scoredEmailAddresses,phones,userPrincipalName";

interface Person {
  id: string;
  displayName?: string;
  jobTitle?: string | null;
  department?: string | null;
  officeLocation?: string | null;
  userPrincipalName?: string | null;
  scoredEmailAddresses?: { address?: string }[];
  phones?: { type?: string; number?: string }[];
}

/** People relevant to the signed-in user whose name starts with a word (`GET /me/people?$search=`). */
export default defineTool({
  name: "search_people",
  title: "Find people I work with",
  description:
    "Finds people the signed-in user works with (colleagues, frequent contacts), most relevant first, by " +
    "the start of their first name, last name or e-mail address: name, job title, department, office, " +
    "e-mail and phone. Pass `cursor` from a previous answer to get the next page.",
  inputSchema: z.object({
    query: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[^"\\]*$/, "Leave out quotes and backslashes.")
      .describe("A name or e-mail address, or the start of one, e.g. 'meg'."),
    count: z.number().int().min(1).max(25).default(10).describe("How many people per page (1-25)."),
    cursor: z.string().max(4096).optional().describe("`nextCursor` from the previous page, to continue."),
  }),
  graphPermissions: ["People.Read"],
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler({ query, count, cursor }, { graph }) {
    const search = encodeURIComponent(`"${query}"`);
    const page = await graph.getPage<Person>(
      `/me/people?$search=${search}&$select=${FIELDS}&$top=${count}`,
      cursor,
    );
    return jsonResult({
      people: page.items.map((p) => ({
        id: p.id,
        name: p.displayName ?? "",
        jobTitle: p.jobTitle ?? null,
        department: p.department ?? null,
        office: p.officeLocation ?? null,
        email: p.scoredEmailAddresses?.[0]?.address ?? p.userPrincipalName ?? null,
        phone: p.phones?.[0]?.number ?? null,
      })),
      nextCursor: page.nextCursor ?? null,
    });
  },
});
