// Loads a built Functions entry (`dist/api/main.js`, possibly copied away from the repository) the way the
// Node.js worker does, then calls its HTTP function with the requests given as JSON in argv[3].
// Prints one JSON line: what was registered, how long the bundle's import took (`loadMs`), and each
// response (status, headers, cookies, body text, and `ms` from building the request to reading the body).
//
//   node testing/bundle-harness.ts /tmp/x/main.js '[{"method":"GET","path":"/api/health"}]'
//
// The process environment is the app's configuration (PUBLIC_URL is the origin requests are sent to).
import { pathToFileURL } from "node:url";
import { installFakeWorker } from "./fake-worker.ts";

interface HarnessRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

const [entry, requestsJson = "[]"] = process.argv.slice(2);
if (!entry) throw new Error("usage: bundle-harness.ts <main.js> [requests-json]");

const worker = installFakeWorker();
const importStarted = performance.now();
await import(pathToFileURL(entry).href);
const loadMs = performance.now() - importStarted;
// The test-side copy of the library only builds the trigger input and reads the handler's result, as the
// worker would; the function itself runs entirely from the bundle.
const { default: azureFunctions } = await import("@azure/functions");
const { HttpRequest, HttpResponse, InvocationContext } = azureFunctions;

const http = worker.byTrigger("httpTrigger");
const origin = process.env.PUBLIC_URL ?? "http://127.0.0.1";
const responses = [];
for (const r of JSON.parse(requestsJson) as HarnessRequest[]) {
  const started = performance.now();
  const request = new HttpRequest({
    method: r.method,
    url: `${origin}${r.path}`,
    headers: { host: new URL(origin).host, ...r.headers },
    body: r.body === undefined ? undefined : { string: r.body },
  });
  const init = await http?.callback(request, new InvocationContext({ functionName: "http" }));
  const response = new HttpResponse(init as ConstructorParameters<typeof HttpResponse>[0]);
  responses.push({
    status: response.status,
    headers: Object.fromEntries(response.headers),
    cookies: response.cookies,
    body: await response.text(),
    ms: performance.now() - started,
  });
}

console.log(
  JSON.stringify({
    programmingModel: worker.programmingModel?.name,
    functions: worker.registrations.map((r) => ({
      name: r.metadata.name,
      triggers: Object.values(r.metadata.bindings)
        .filter((b) => b.direction === "in")
        .map((b) => b.type),
    })),
    loadMs,
    responses,
  }),
);
