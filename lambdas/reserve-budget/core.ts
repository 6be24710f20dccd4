import { type BudgetStore, budgetView } from '../shared/rules/budget.ts';
import { BudgetExceededError, UnknownCostCenterError } from '../shared/rules/errors.ts';
import { formatUsd } from '../shared/rules/money.ts';
import { secondsUntilReset } from '../shared/rules/period.ts';
import { releaseHolds, reservedAmount, scopeOf } from '../shared/rules/settlement.ts';
import type { Reservation, ReservedScope, ValidatedRequest } from '../shared/rules/types.ts';

export interface ReserveDeps {
  store: BudgetStore;
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
  const detail = {
    applicationId,
    environment: request.tags.environment,
    modelId: request.model.modelId,
    outputTokens: request.estimate.outputTokens,
  };
  // Counters a write went to whose outcome is not a refusal: held, or unknown (a lost answer).
  const attempted: ReservedScope[] = [];
  try {
    for (const budget of [budgets.costCenter, budgets.application]) {
      if (!budget) continue;
      const scope = scopeOf(budget, at);
      attempted.push(scope);
      const { reserved, figures } = await deps.store.reserve(
        scope,
        request.requestId,
        amount,
        { pico: budget.limitPico, tokens: budget.limitTokens },
        at,
        detail,
      );
      if (!reserved) {
        attempted.pop();
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
  } catch (error) {
    // Nothing reached Bedrock: give back every hold before failing, so none waits for the sweeper.
    // If this fails too, the failure handler tries again from the request's tags.
    await releaseHolds(deps.store, request.requestId, attempted).catch(() => undefined);
    throw error;
  }
  return reservation;
}
