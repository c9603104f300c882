// `PORT=n node bench/anchors/sdk-server.ts`: the bare SDK anchor (sdk-app.ts) on @hono/node-server.
import { serve } from "@hono/node-server";
import { exitWithParent } from "../child.ts";
import { app } from "./sdk-app.ts";

exitWithParent();
serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: "127.0.0.1" });
