/**
 * The Node host's logger: the same JSON lines as `consoleLogger`. Information lines go to stdout in one
 * write per turn of the event loop instead of one per line; warnings and errors go to stderr at once.
 *
 * A write to a pipe or a file is synchronous in Node, so under load a line per request (the audit record
 * of every tool call) costs a system call on the request's path; gathered, the lines of every request
 * answered in one turn cost one. Lines keep their order on each stream, and what is gathered is written before the
 * process exits (`exit` runs on `process.exit`, on the end of the event loop and after an uncaught
 * exception), so nothing is lost on the way out.
 *
 * The Azure Functions host keeps `consoleLogger`: the worker sends each console line as a record of its
 * own, which is what queries over the logs expect.
 *
 * @module
 */
import type { Logger } from "../core/log.ts";

/** Gathered text beyond this is written at once rather than at the end of the turn. */
const MAX_PENDING_CHARS = 64 * 1024;

function gatheredWriter(stream: NodeJS.WriteStream) {
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (!pending) return;
    const text = pending;
    pending = "";
    stream.write(text);
  };
  return {
    line(text: string) {
      pending += `${text}\n`;
      if (pending.length >= MAX_PENDING_CHARS) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

export function createStdoutLogger(): Logger & { flush(): void } {
  const out = gatheredWriter(process.stdout);
  process.once("exit", out.flush);
  const now = (level: string, msg: string, fields?: Record<string, unknown>) =>
    process.stderr.write(`${JSON.stringify({ level, msg, ...fields })}\n`);
  return {
    info: (msg, fields) => out.line(JSON.stringify({ level: "info", msg, ...fields })),
    warn: (msg, fields) => now("warn", msg, fields),
    error: (msg, fields) => now("error", msg, fields),
    flush: out.flush,
  };
}
