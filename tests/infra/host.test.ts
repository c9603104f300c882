// api/host.json against the server: no legacy SSE stream may outlive the Functions invocation that
// carries it. When an invocation reaches functionTimeout the host restarts the worker, and every other
// invocation in flight on that instance dies with it (Azure/azure-functions-host#8720). Flex Consumption's
// default is 30 minutes; the SSE bridge keeps a stream open for up to SSE_DEFAULTS.maxLifetimeMs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { SSE_DEFAULTS } from "../../api/src/legacy-sse/bridge.ts";
import { repoRoot } from "./toolchain.ts";

/** `[d.]hh:mm:ss` in milliseconds. */
function timeSpanMs(value: string): number {
  const m = /^(?:(\d+)\.)?(\d{2}):(\d{2}):(\d{2})$/.exec(value);
  assert.ok(m, `functionTimeout "${value}" is not a [d.]hh:mm:ss time span`);
  const [, d, h, min, s] = m;
  return (((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60 + Number(s)) * 1000;
}

describe("api/host.json", () => {
  test("functionTimeout outlasts the longest SSE stream, with room for its last events", () => {
    const host = JSON.parse(readFileSync(join(repoRoot, "api", "host.json"), "utf8")) as {
      functionTimeout?: string;
    };
    assert.ok(
      host.functionTimeout,
      "functionTimeout is set (Flex Consumption's default of 30 minutes is too short)",
    );
    const timeout = timeSpanMs(host.functionTimeout);
    const longest = SSE_DEFAULTS.maxLifetimeMs;
    assert.ok(
      timeout >= longest + 60_000,
      `functionTimeout ${host.functionTimeout} must exceed ${longest / 60_000} min + 1 min`,
    );
    // A bounded timeout still stops a runaway invocation: at most a quarter of an hour beyond the stream.
    assert.ok(
      timeout <= longest + 15 * 60_000,
      `functionTimeout ${host.functionTimeout} is far beyond the longest stream`,
    );
  });

  test("the time span parser reads what the Functions host reads", () => {
    assert.equal(timeSpanMs("00:30:00"), 30 * 60_000);
    assert.equal(timeSpanMs("1.02:00:00"), 26 * 3_600_000);
    assert.throws(() => timeSpanMs("-1"));
  });
});
