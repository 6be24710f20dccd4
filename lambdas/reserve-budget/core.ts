import { type BudgetStore, budgetView, keys } from '../shared/budget.ts';
import { BudgetExceededError, UnknownCostCenterError } from '../shared/errors.ts';
import { formatUsd } from '../shared/money.ts';
import { periodKey, secondsUntilReset } from '../shared/period.ts';
import type { Reservation, ValidatedRequest } from '../shared/types.ts';

export interface ReserveDeps {
  store: BudgetStore;
}

/**
 * Hold the request's worst-case cost against its cost center's budget for the current period,
 * with one conditional write. Refuses with BUDGET_EXCEEDED when it would not fit.
 */
export async function reserveBudget(request: ValidatedRequest, deps: ReserveDeps): Promise<Reservation> {
  const { costCenter } = request.tags;
  const at = new Date(request.receivedAt);
  const budget = await deps.store.getBudget(costCenter);
  if (!budget) throw new UnknownCostCenterError(costCenter);

  const key = periodKey(budget.period, at);
  const counter = keys.costCenterCounter(costCenter, key);
  const amount = { pico: BigInt(request.estimate.costPico), tokens: request.estimate.tokens };
  const { reserved, figures } = await deps.store.reserve(
    counter,
    request.requestId,
    amount,
    { pico: budget.limitPico, tokens: budget.limitTokens },
    at,
  );
  if (!reserved) {
    throw new BudgetExceededError(
      `The request's worst-case cost of $${formatUsd(amount.pico)} (${amount.tokens} tokens) does not fit ` +
        `the ${budget.period} budget of cost center '${costCenter}'.`,
      { scope: 'costCenter', ...budgetView(budget, key, figures, at) },
      secondsUntilReset(budget.period, at),
    );
  }
  return {
    requestId: request.requestId,
    scopes: [
      {
        scope: 'costCenter',
        costCenter,
        ...counter,
        period: budget.period,
        periodKey: key,
        limitPico: budget.limitPico?.toString(),
        limitTokens: budget.limitTokens,
      },
    ],
    costPico: request.estimate.costPico,
    tokens: request.estimate.tokens,
  };
}
