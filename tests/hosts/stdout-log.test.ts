// The Node host's logger gathers information lines and writes them once per event-loop turn. What an
// operator reads must not suffer for it: every line arrives, in order, one JSON object per line, also
// when the process ends right after logging (process.exit, an uncaught exception); warnings and errors
// go to stderr at once.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const LOGGER = fileURLToPath(new URL("../../api/src/hosts/stdout-log.ts", import.meta.url));

/** Runs `body` in a fresh Node process with `log` from createStdoutLogger(); its output and exit code. */
function run(body: string) {
  const script = `
    const { createStdoutLogger } = await import(${JSON.stringify(LOGGER)});
    const log = createStdoutLogger();
    ${body}
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 30_000,
  });
  const lines = (text: string) =>
    text
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: string; msg: string; n?: number });
  return { out: lines(r.stdout), err: lines(r.stderr), status: r.status };
}

describe("the Node host's logger", () => {
  it("writes every information line, in order, one JSON object per line", () => {
    const { out, status } = run(`for (let n = 0; n < 5000; n++) log.info("tool call", { n });`);
    assert.equal(status, 0);
    assert.equal(out.length, 5000);
    assert.ok(out.every((l, i) => l.n === i && l.level === "info" && l.msg === "tool call"));
  });

  it("loses nothing when the process exits right after logging", () => {
    const { out, status } = run(`log.info("first"); log.info("last"); process.exit(3);`);
    assert.equal(status, 3);
    assert.deepEqual(
      out.map((l) => l.msg),
      ["first", "last"],
    );
  });

  it("loses nothing when an uncaught exception ends the process", () => {
    const { out, status } = run(
      `log.info("before the crash"); setTimeout(() => { throw new Error("boom"); });`,
    );
    assert.equal(status, 1);
    assert.deepEqual(
      out.map((l) => l.msg),
      ["before the crash"],
    );
  });

  it("writes warnings and errors to stderr at once, before the turn's information lines", () => {
    const { out, err } = run(
      `log.info("later"); log.warn("now", { reason: "x" }); log.error("also now"); process.stderr.write('{"level":"marker","msg":"after"}\\n');`,
    );
    assert.deepEqual(
      err.map((l) => l.msg),
      ["now", "also now", "after"],
    );
    assert.deepEqual(
      out.map((l) => l.msg),
      ["later"],
    );
  });
});
