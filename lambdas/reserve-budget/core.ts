import { type BudgetDefinition, type BudgetStore, budgetView, keys } from '../shared/budget.ts';
import { BudgetExceededError, UnknownCostCenterError } from '../shared/errors.ts';
import { formatUsd } from '../shared/money.ts';
import { periodKey, secondsUntilReset } from '../shared/period.ts';
import { reservedAmount, settleScopes } from '../shared/settlement.ts';
import type { Reservation, ReservedScope, ValidatedRequest } from '../shared/types.ts';

export interface ReserveDeps {
  store: BudgetStore;
}

/** The counter a budget holds reservations on for the period that contains `at`. */
export function scopeOf(budget: BudgetDefinition, at: Date): ReservedScope {
  const key = periodKey(budget.period, at);
  return {
    scope: budget.applicationId ? 'application' : 'costCenter',
    costCenter: budget.costCenter,
    ...(budget.applicationId ? { applicationId: budget.applicationId } : {}),
    ...keys.counter(budget, key),
    period: budget.period,
    periodKey: key,
    limitPico: budget.limitPico?.toString(),
    limitTokens: budget.limitTokens,
    alertThresholds: budget.alertThresholds,
  };
}

/**
 * Hold the request's worst-case cost against its cost center's budget and, when the application
 * has one, its application's budget, one conditional write each. A request must fit both; a
 * refusal releases what was held and says which budget refused.
 */
export async function reserveBudget(request: ValidatedRequest, deps: ReserveDeps): Promise<Reservation> {
  const { costCenter, applicationId } = request.tags;
  const at = new Date(request.receivedAt);
  const budgets = await deps.store.getBudgets({ costCenter, applicationId });
  if (!budgets.costCenter) throw new UnknownCostCenterError(costCenter);

  const reservation: Reservation = {
    requestId: request.requestId,
    scopes: [],
    costPico: request.estimate.costPico,
    tokens: request.estimate.tokens,
  };
  const amount = reservedAmount(reservation);
  for (const budget of [budgets.costCenter, budgets.application]) {
    if (!budget) continue;
    const scope = scopeOf(budget, at);
    const { reserved, figures } = await deps.store.reserve(
      scope,
      request.requestId,
      amount,
      { pico: budget.limitPico, tokens: budget.limitTokens },
      at,
    );
    if (!reserved) {
      await settleScopes(deps.store, reservation, { pico: 0n, tokens: 0 });
      const which = budget.applicationId
        ? `application '${budget.applicationId}' in cost center '${costCenter}'`
        : `cost center '${costCenter}'`;
      throw new BudgetExceededError(
        `The request's worst-case cost of $${formatUsd(amount.pico)} (${amount.tokens} tokens) does not fit ` +
          `the ${budget.period} budget of ${which}.`,
        { scope: scope.scope, ...budgetView(budget, scope.periodKey, figures, at) },
        secondsUntilReset(budget.period, at),
      );
    }
    reservation.scopes.push(scope);
  }
  return reservation;
}
