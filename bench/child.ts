/**
 * What every process the benchmark starts from `bench/` does: end itself when the process that started
 * it is gone (a benchmark killed outright runs no clean-up of its own), and read its input from stdin, so
 * tokens never appear in a process list.
 *
 * @module
 */

/** Exits this process within a second of its parent's exit. */
export function exitWithParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      process.exit(1);
    }
  }, 1000).unref();
}

/** Everything written to stdin, parsed as JSON. */
export async function readJsonStdin<T>(): Promise<T> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text) as T;
}
