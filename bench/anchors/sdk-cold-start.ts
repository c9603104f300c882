// The bare SDK anchor's cold start: `node bench/anchors/sdk-cold-start.ts <bundle.js>` imports the anchor
// bundled like the Functions app (esbuild, one ESM file) and answers one stateless `tools/call`; prints
// `{"loadMs", "firstAnswerMs"}` (import, then the first answer after it).
import { pathToFileURL } from "node:url";
import { toolCall } from "@entra-mcp/testing/mcp-request";

const entry = process.argv[2];
if (!entry) throw new Error("usage: sdk-cold-start.ts <bundle.js>");
const started = performance.now();
const { app } = (await import(pathToFileURL(entry).href)) as {
  app: { fetch: (request: Request) => Promise<Response> | Response };
};
const loadMs = performance.now() - started;
const { headers, body } = toolCall("whoami");
const answered = performance.now();
const res = await app.fetch(new Request("http://127.0.0.1/api/mcp", { method: "POST", headers, body }));
const text = await res.text();
const firstAnswerMs = performance.now() - answered;
if (res.status !== 200 || !text.includes("objectId"))
  throw new Error(`unexpected answer ${res.status}: ${text}`);
console.log(JSON.stringify({ loadMs, firstAnswerMs }));
