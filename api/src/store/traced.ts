/**
 * The store with a span around every operation (`storage.get`, `storage.put`, …): which kind of row,
 * whether it was found, never its id or its value (ids are hashes of codes and tokens, values hold
 * sealed Entra tokens). Without a telemetry provider the spans are the API's no-ops.
 *
 * @module
 */
import { inSpan, SpanKind } from "../core/telemetry.ts";
import type { Store } from "./store.ts";

export function tracedStore(store: Store): Store {
  const attrs = (operation: string, kind: string) => ({
    "db.operation.name": operation,
    "mcp.store.kind": kind,
  });
  return {
    get: <T>(kind: string, id: string) =>
      inSpan(
        "storage.get",
        attrs("get", kind),
        async (span) => {
          const entry = await store.get<T>(kind, id);
          span.setAttribute("mcp.store.found", entry !== undefined);
          return entry;
        },
        SpanKind.CLIENT,
      ),
    put: (kind, id, value, opts) =>
      inSpan("storage.put", attrs("put", kind), () => store.put(kind, id, value, opts), SpanKind.CLIENT),
    delete: (kind, id, opts) =>
      inSpan("storage.delete", attrs("delete", kind), () => store.delete(kind, id, opts), SpanKind.CLIENT),
    increment: (kind, id, windowSec) =>
      inSpan(
        "storage.increment",
        attrs("increment", kind),
        () => store.increment(kind, id, windowSec),
        SpanKind.CLIENT,
      ),
    list: <T>(kind: string, prefix: string, opts?: { limit?: number }) =>
      inSpan(
        "storage.list",
        attrs("list", kind),
        async (span) => {
          const rows = await store.list<T>(kind, prefix, opts);
          span.setAttribute("mcp.store.rows", rows.length);
          return rows;
        },
        SpanKind.CLIENT,
      ),
    sweep: (at) => inSpan("storage.sweep", attrs("sweep", "*"), () => store.sweep(at), SpanKind.CLIENT),
  };
}
