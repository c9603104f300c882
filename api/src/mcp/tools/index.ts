/** Every tool the server serves. Adding a tool: write `tools/<name>.ts` with `defineTool`, then list it here. */
import type { ToolDefinition } from "../tool.ts";
import getGraphUserDetails from "./get-graph-user-details.ts";
import getMyPhoto from "./get-my-photo.ts";
import whoami from "./whoami.ts";

export const tools: ToolDefinition[] = [getGraphUserDetails, getMyPhoto, whoami];
