/**
 * The SSE backplane: how a JSON-RPC message produced on any server instance reaches the instance that
 * holds the client's event stream.
 *
 * Every POST to `/api/messages` is processed by the stateless MCP handler on whichever instance receives
 * it; only delivery needs routing. The stream's instance `open`s the session (a record binding it to the
 * user who opened it, and a subscription that hands it messages), any instance `publish`es to it, and the
 * stream's instance `close`s it when the stream ends. Two implementations:
 *
 * - `InProcessBackplane` (here): one instance, no storage (Entra-direct mode without a table, tests).
 * - `StoreBackplane` (`store-backplane.ts`): rows in the server's `Store` (Azure Table Storage, Azurite
 *   locally), polled by the stream's instance, for any number of instances.
 *
 * @module
 */

/** What the stream's instance is handed. */
export interface SessionHandlers {
  /** A JSON-RPC message (serialized) for the client. */
  message(text: string): void;
  /** The backplane lost the session (its record expired or was removed): end the stream. */
  lost(reason: string): void;
}

export interface Subscription {
  /** Stops delivery and forgets the session (idempotent). */
  close(): Promise<void>;
}

export interface Backplane {
  /**
   * Registers a session bound to `owner` (`tid:oid`) and starts delivering its messages to `handlers`.
   * Throws `SessionLimitError` when the owner already has the most sessions allowed.
   */
  open(sessionId: string, owner: string, handlers: SessionHandlers): Promise<Subscription>;
  /** The owner of a live session, or `undefined` for an unknown, closed or expired one. */
  owner(sessionId: string): Promise<string | undefined>;
  /** Queues a message for the session's stream, wherever it is. */
  publish(sessionId: string, message: string): Promise<void>;
  /** Ends a session (the stream's instance calls this; idempotent). */
  close(sessionId: string): Promise<void>;
}

/** The owner has `limit` sessions open already. */
export class SessionLimitError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`At most ${limit} SSE sessions may be open per user`);
    this.name = "SessionLimitError";
    this.limit = limit;
  }
}

export interface InProcessBackplaneOptions {
  maxSessionsPerOwner: number;
}

/** Sessions and delivery in this process only: correct for a single instance. */
export class InProcessBackplane implements Backplane {
  readonly #sessions = new Map<string, { owner: string; handlers: SessionHandlers }>();
  readonly #max: number;

  constructor(opts: InProcessBackplaneOptions) {
    this.#max = opts.maxSessionsPerOwner;
  }

  async open(sessionId: string, owner: string, handlers: SessionHandlers): Promise<Subscription> {
    let count = 0;
    for (const s of this.#sessions.values()) if (s.owner === owner) count++;
    if (count >= this.#max) throw new SessionLimitError(this.#max);
    this.#sessions.set(sessionId, { owner, handlers });
    return { close: () => this.close(sessionId) };
  }

  async owner(sessionId: string): Promise<string | undefined> {
    return this.#sessions.get(sessionId)?.owner;
  }

  async publish(sessionId: string, message: string): Promise<void> {
    this.#sessions.get(sessionId)?.handlers.message(message);
  }

  async close(sessionId: string): Promise<void> {
    this.#sessions.delete(sessionId);
  }

  /** Open sessions (for tests and diagnostics). */
  get size(): number {
    return this.#sessions.size;
  }
}
