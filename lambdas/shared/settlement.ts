import type { Amount, BudgetStore, CounterFigures } from './budget.ts';
import type { Reservation } from './types.ts';

/** The amount a reservation holds. */
export function reservedAmount(reservation: Reservation): Amount {
  return { pico: BigInt(reservation.costPico), tokens: reservation.tokens };
}

/**
 * Settle every scope of a reservation with what the request really used (zero for a release).
 * Idempotent per requestId: the store only changes a counter whose reservation is still there.
 */
export async function settleScopes(
  store: BudgetStore,
  reservation: Reservation,
  used: Amount,
): Promise<CounterFigures[]> {
  const reserved = reservedAmount(reservation);
  const results = [];
  for (const scope of reservation.scopes) {
    results.push(await store.settle(scope, reservation.requestId, reserved, used));
  }
  return results.map((r) => r.figures);
}
