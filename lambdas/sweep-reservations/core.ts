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
  /** Stale reservations closed by this run. */
  closed: number;
  /** What they were charged, in pico-USD. */
  chargedPico: bigint;
  /** Reservations whose close failed; the next run tries them again. */
  failed: number;
}

/**
 * Close reservations whose execution died (a crashed or timed-out step) without settling or
 * releasing. The request may have reached Bedrock and been billed, so each is charged in full:
 * counters err only on the conservative side. Each close is the same conditional write a settle
 * uses, so a reservation is closed at most once, even when the sweeper races a late settle or
 * another sweeper.
 */
export async function sweepReservations(deps: SweepDeps): Promise<SweepResult> {
  const heldBefore = new Date(deps.now().getTime() - STALE_AFTER_SECONDS * 1000);
  const stale = await deps.store.findStaleReservations(heldBefore);
  const result: SweepResult = { found: stale.length, closed: 0, chargedPico: 0n, failed: 0 };
  for (const reservation of stale) {
    try {
      const { settled } = await deps.store.settle(
        reservation.key,
        reservation.requestId,
        reservation.amount,
        reservation.amount,
      );
      if (settled) {
        result.closed++;
        result.chargedPico += reservation.amount.pico;
      }
    } catch {
      result.failed++;
    }
  }
  return result;
}
