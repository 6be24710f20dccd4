import type { BudgetStore } from '../shared/budget.ts';

/**
 * A reservation older than this belongs to an execution that cannot be running any more: the
 * state machine times out after 27 s. The margin covers clock skew between Lambdas.
 */
export const STALE_AFTER_SECONDS = 120;

export interface SweepDeps {
  store: BudgetStore;
  now: () => Date;
}

export interface SweepResult {
  found: number;
  released: number;
  releasedPico: bigint;
  /** Reservations whose release failed; the next run tries them again. */
  failed: number;
}

/**
 * Hand back reservations whose execution died (a crashed or timed-out step) without settling
 * or releasing. Each release is the same conditional write a settle uses, so a reservation is
 * returned at most once, even when the sweeper races a late settle or another sweeper.
 */
export async function sweepReservations(deps: SweepDeps): Promise<SweepResult> {
  const heldBefore = new Date(deps.now().getTime() - STALE_AFTER_SECONDS * 1000);
  const stale = await deps.store.findStaleReservations(heldBefore);
  const result: SweepResult = { found: stale.length, released: 0, releasedPico: 0n, failed: 0 };
  for (const reservation of stale) {
    try {
      const { settled } = await deps.store.settle(
        reservation.key,
        reservation.requestId,
        reservation.amount,
        {
          pico: 0n,
          tokens: 0,
        },
      );
      if (settled) {
        result.released++;
        result.releasedPico += reservation.amount.pico;
      }
    } catch {
      result.failed++;
    }
  }
  return result;
}
