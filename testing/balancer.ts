/**
 * A front end for several server instances behind one public URL, as Azure's is: each request goes to
 * the next instance in turn (round robin), so a multi-step flow (a browser's sign-in, a form post) lands
 * on different instances, which must behave as one server. `pin(i)` sends everything to one instance.
 *
 * @module
 */
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface Balancer {
  url: string;
  port: number;
  /** Which instance (index into the ports) each request went to, in order. */
  readonly served: number[];
  /** Sends every request to instance `i` (`undefined`: round robin again). */
  pin(i: number | undefined): void;
  stop(): Promise<void>;
}

export async function startBalancer(backendPorts: () => number[], port = 0): Promise<Balancer> {
  let next = 0;
  let pinned: number | undefined;
  const served: number[] = [];
  const server = createServer((req, res) => {
    const ports = backendPorts();
    const i = pinned ?? next++ % ports.length;
    served.push(i);
    const upstream = request(
      { host: "127.0.0.1", port: ports[i], method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.rawHeaders);
        up.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    served,
    pin: (i) => {
      pinned = i;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
