/**
 * A tiny structured logger. Never pass tokens, assertions or codes to it: log ids and hashes only.
 *
 * @module
 */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const consoleLogger: Logger = {
  info: (msg, fields) => console.log(JSON.stringify({ level: "info", msg, ...fields })),
  warn: (msg, fields) => console.warn(JSON.stringify({ level: "warn", msg, ...fields })),
  error: (msg, fields) => console.error(JSON.stringify({ level: "error", msg, ...fields })),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * A logger that adds `fields` to every line: a request's correlation id, say, so that every step of one
 * sign-in can be found with one query.
 */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  return {
    info: (msg, more) => logger.info(msg, { ...fields, ...more }),
    warn: (msg, more) => logger.warn(msg, { ...fields, ...more }),
    error: (msg, more) => logger.error(msg, { ...fields, ...more }),
  };
}
