/**
 * Server-Sent Events on web streams: writing events for the legacy SSE transport, and reading the events
 * of the MCP handler's own `text/event-stream` responses.
 *
 * @module
 */

const encoder = new TextEncoder();

/** One SSE event as bytes. Multi-line data becomes several `data:` lines (the reader joins them with `\n`). */
export function encodeEvent(event: string | undefined, data: string): Uint8Array {
  const head = event ? `event: ${event}\n` : "";
  const lines = data
    .split(/\r\n|\r|\n/)
    .map((l) => `data: ${l}\n`)
    .join("");
  return encoder.encode(`${head}${lines}\n`);
}

/** An SSE comment line: ignored by every client, keeps proxies and load balancers from timing out. */
export function encodeComment(text: string): Uint8Array {
  return encoder.encode(`: ${text}\n\n`);
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * Reads a `text/event-stream` body event by event (the WHATWG parsing rules: `\r\n`, `\r` or `\n` line
 * ends, `:` comments, a space after the colon dropped, data lines joined with `\n`, dispatch on a blank
 * line). Events with no data are skipped, as browsers skip them.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let event = "";
  let id: string | undefined;
  let finished = false;
  const dispatch = (): SseEvent | undefined => {
    const out = data.length ? { event: event || "message", data: data.join("\n"), id } : undefined;
    data = [];
    event = "";
    return out;
  };
  const line = (text: string): SseEvent | undefined => {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return undefined;
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    else if (field === "id") id = value;
    return undefined;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      // A trailing `\r` may be the first half of `\r\n`: keep it until the next chunk.
      for (let m = /\r\n|\r(?=[^\n])|\n/.exec(buffer); m; m = /\r\n|\r(?=[^\n])|\n/.exec(buffer)) {
        const out = line(buffer.slice(0, m.index));
        buffer = buffer.slice(m.index + m[0].length);
        if (out) yield out;
      }
    }
    buffer += decoder.decode();
    // The stream ended: a final line without its terminator still counts, an undispatched event does not.
    if (buffer.endsWith("\r")) buffer = buffer.slice(0, -1);
    if (buffer) line(buffer);
  } finally {
    // A consumer that stops early (or an error) must not leave the body half read.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
