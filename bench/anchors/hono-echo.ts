// Anchor: a raw Hono JSON echo on @hono/node-server, the ceiling for any Hono app on this machine.
// `PORT=n node bench/anchors/hono-echo.ts`; POST /echo answers with the JSON body it received.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { exitWithParent } from "../child.ts";

exitWithParent();
const app = new Hono();
app.post("/echo", async (c) => c.json(await c.req.json()));
serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1" });
