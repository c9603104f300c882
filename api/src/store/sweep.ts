/**
 * The periodic clean-up of expired proxy-mode state (pending authorizations, codes, grants, consent).
 *
 * On Azure a Functions timer trigger calls `sweepExpiredState` with the app's store (see
 * `hosts/functions.ts` and `services.ts`); without one (Entra-direct mode without a table) it sweeps
 * nothing.
 *
 * @module
 */

/** What the sweep needs from a store (the `Store` interface has it): delete rows expired at `now`, count them. */
export interface Sweepable {
  sweep(now?: number): Promise<number>;
}

export interface SweepResult {
  swept: number;
}

export async function sweepExpiredState(
  opts: { store?: Sweepable; now?: () => number } = {},
): Promise<SweepResult> {
  if (!opts.store) return { swept: 0 };
  const now = (opts.now ?? Date.now)();
  return { swept: await opts.store.sweep(now) };
}
