import { type BudgetDefinition, type BudgetPolicy, utilization } from '../shared/rules/budget.ts';
import { budgetView } from '../shared/rules/budget-views.ts';
import { type ResolvedModel, resolveModel } from '../shared/rules/catalog.ts';
import { BudgetPolicyError } from '../shared/rules/errors.ts';
import { secondsUntilReset } from '../shared/rules/period.ts';
import { type Routing, scopeOf } from '../shared/rules/settlement.ts';
import { RECENT_READING_MS, recentReading } from '../shared/rules/sharded-counter.ts';
import type { ValidatedRequest } from '../shared/rules/types.ts';

import { describe, type ReserveDeps, repriced } from './common.ts';

/** Soft limits: the budget's policies, checked in order (downgrade to a cheaper model, or deny). */

export const names = (model: ResolvedModel) => [model.alias, model.modelId];

/**
 * Apply the budgets' policies, in order (the cost center's, then the application's), at each
 * budget's utilization: a deny refuses, a downgrade swaps the model (priced again). Reads the
 * counter of a budget only when it has policies (a sharded one's shards at most once a
 * {@link RECENT_READING_MS} per process).
 */
export async function applyPolicies(
  request: ValidatedRequest,
  budgets: BudgetDefinition[],
  at: Date,
  deps: ReserveDeps,
): Promise<{ request: ValidatedRequest; routing?: Routing }> {
  let current = request;
  let routing: Routing | undefined;
  for (const budget of budgets) {
    if (!budget.policies?.length) continue;
    const scope = scopeOf(budget, at);
    const { figures } = await recentReading(
      deps.store,
      budget,
      scope.periodKey,
      deps.now(),
      RECENT_READING_MS,
    );
    const used = utilization(budget, figures);
    for (const policy of budget.policies) {
      if (used < policy.atUtilization) continue;
      const at100 = `${Math.round(used * 1000) / 10}%`;
      if (policy.action === 'deny') {
        if (!names(current.model).some((n) => policy.models.includes(n))) continue;
        throw new BudgetPolicyError(
          `The ${budget.period} budget of ${describe(budget)} is at ${at100}; from ` +
            `${policy.atUtilization * 100}% it refuses ${current.model.alias}.`,
          { ...policy },
          { scope: scope.scope, ...budgetView(budget, scope.periodKey, figures, at) },
          secondsUntilReset(budget.period, at),
        );
      }
      if (!names(current.model).includes(policy.from)) continue;
      const served = downgradeTarget(policy, current, deps);
      if (!served) continue;
      routing = {
        requested: routing?.requested ?? request.model.alias,
        served: served.model.alias,
        reason:
          `the ${budget.period} budget of ${describe(budget)} is at ${at100}; from ` +
          `${policy.atUtilization * 100}% ${policy.from} is served as ${policy.to}`,
      };
      current = served;
    }
  }
  return { request: current, ...(routing ? { routing } : {}) };
}

/** The request served by a downgrade's target, or undefined when the target cannot serve it. */
export function downgradeTarget(
  policy: Extract<BudgetPolicy, { action: 'downgrade' }>,
  request: ValidatedRequest,
  deps: ReserveDeps,
): ValidatedRequest | undefined {
  const resolved = resolveModel(deps.catalog, policy.to);
  if (!resolved) return undefined;
  const profile = deps.profiles?.[request.tags.costCenter]?.[resolved.alias];
  const model = profile ? { ...resolved, invokeModelId: profile } : resolved;
  const maxTokens = Math.min(request.prompt.parameters.maxTokens, model.maxOutputTokens);
  return repriced(request, model, maxTokens, deps.catalog);
}
