/**
 * Every tool the server serves. Adding a tool: write `tools/<name>.ts` with `defineTool` (declaring its
 * `graphPermissions`), list it here, then `npm run permissions -- --write` for the app registration.
 */
import type { ToolDefinition } from "../tool.ts";
import getGraphUserDetails from "./get-graph-user-details.ts";
import getMyCalendar from "./get-my-calendar.ts";
import getMyPhoto from "./get-my-photo.ts";
import listRecentMail from "./list-recent-mail.ts";
import searchPeople from "./search-people.ts";
import whoami from "./whoami.ts";

export const tools: ToolDefinition[] = [
  getGraphUserDetails,
  getMyPhoto,
  listRecentMail,
  getMyCalendar,
  searchPeople,
  whoami,
];
