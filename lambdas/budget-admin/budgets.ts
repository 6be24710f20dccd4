import {
  type BudgetDefinition,
  type BudgetScope,
  utilization,
  windowMinute,
} from '../shared/rules/budget.ts';
import { budgetDefinitionOf, budgetInputSchema } from '../shared/rules/budget-input.ts';
import { budgetView, forecast } from '../shared/rules/budget-views.ts';
import { TAG_VALUE } from '../shared/rules/catalog.ts';
import { InvalidRequestError, NotFoundError } from '../shared/rules/errors.ts';
import { parseJsonBody } from '../shared/rules/json-body.ts';
import { isoSeconds, type Period, periodEnd, periodKey } from '../shared/rules/period.ts';
import { readCounter } from '../shared/rules/sharded-counter.ts';
import { keys } from '../shared/rules/table.ts';
import type { AdminDeps, AdminResponse } from './request.ts';

const describe = (scope: BudgetScope) =>
  scope.applicationId
    ? `application '${scope.applicationId}' in cost center '${scope.costCenter}'`
    : `cost center '${scope.costCenter}'`;

/** The scope a budget path names, each segment checked against the tag value rule. */
export function pathScope(costCenter: string, applicationId?: string): BudgetScope {
  const details = [
    ...(TAG_VALUE.test(costCenter)
      ? []
      : [{ path: 'costCenter', message: 'must follow the tag value rule' }]),
    ...(applicationId === undefined || TAG_VALUE.test(applicationId)
      ? []
      : [{ path: 'applicationId', message: 'must follow the tag value rule' }]),
  ];
  if (details.length > 0) throw new InvalidRequestError('The path is invalid.', details);
  return { costCenter, ...(applicationId !== undefined ? { applicationId } : {}) };
}

/** A budget with its current period's figures and forecast. */
export async function budgetWithFigures(
  budget: BudgetDefinition,
  deps: AdminDeps,
): Promise<Record<string, unknown>> {
  const at = deps.now();
  const key = periodKey(budget.period, at);
  const { figures, shards } = await readCounter(deps.store, budget, key);
  const minute = windowMinute(at);
  const window = budget.rateLimits ? await deps.store.getWindow(keys.rateWindow(budget, minute)) : undefined;
  return {
    ...budgetView(budget, key, figures, at),
    ...(window ? { rateWindow: { minute, ...window } } : {}),
    ...(budget.cache ? { cache: budget.cache } : {}),
    ...(budget.expectedRequestsPerSecond !== undefined || shards.length > 1
      ? {
          sharding: {
            expectedRequestsPerSecond: budget.expectedRequestsPerSecond ?? null,
            shards: budget.shards ?? 1,
            shardsThisPeriod: shards.length,
          },
        }
      : {}),
    alertThresholds: budget.alertThresholds,
    alertsSent: figures.alerted.sort((a, b) => a - b),
    utilization: Math.round(utilization(budget, figures) * 10_000) / 10_000,
    forecast: forecast(budget, figures, at),
    source: budget.source ?? 'config',
    updatedAt: budget.updatedAt ?? null,
  };
}

async function find(scope: BudgetScope, deps: AdminDeps): Promise<BudgetDefinition> {
  const found = await deps.store.getBudgets(scope);
  const budget = scope.applicationId ? found.application : found.costCenter;
  if (!budget) throw new NotFoundError(`There is no budget for ${describe(scope)}.`);
  return budget;
}

/** GET /v1/budgets: every budget, by cost center then application. */
export async function listBudgets(deps: AdminDeps): Promise<AdminResponse> {
  const budgets = (await deps.store.listBudgets()).sort(
    (a, b) =>
      a.costCenter.localeCompare(b.costCenter) ||
      (a.applicationId ?? '').localeCompare(b.applicationId ?? ''),
  );
  return {
    status: 200,
    body: { budgets: await Promise.all(budgets.map((b) => budgetWithFigures(b, deps))) },
  };
}

/** GET a budget. */
export async function getBudget(scope: BudgetScope, deps: AdminDeps): Promise<AdminResponse> {
  return { status: 200, body: await budgetWithFigures(await find(scope, deps), deps) };
}

/** PUT a budget: 201 when it is new, 200 when it replaces one. An application's needs its cost center's. */
export async function putBudget(
  scope: BudgetScope,
  body: string | null,
  deps: AdminDeps,
): Promise<AdminResponse> {
  const input = parseJsonBody(body, budgetInputSchema, 'The budget');
  const existing = await deps.store.getBudgets(scope);
  if (scope.applicationId && !existing.costCenter) {
    throw new NotFoundError(
      `There is no budget for cost center '${scope.costCenter}'; set it before its applications'.`,
    );
  }
  const before = scope.applicationId ? existing.application : existing.costCenter;
  if (before && before.period !== input.period) await refuseForgettingSpend(before, input.period, deps);
  await deps.store.putBudget(budgetDefinitionOf(scope, input, 'api'));
  return { status: before ? 200 : 201, body: await budgetWithFigures(await find(scope, deps), deps) };
}

/** DELETE a budget (a cost center's takes its applications' with it). */
export async function deleteBudget(scope: BudgetScope, deps: AdminDeps): Promise<AdminResponse> {
  if (!(await deps.store.deleteBudget(scope)))
    throw new NotFoundError(`There is no budget for ${describe(scope)}.`);
  return { status: 204 };
}

/**
 * Counters are kept per period, so a budget whose period changes starts from the new period's
 * counter: whatever the current one holds would be forgotten (a monthly budget switched to
 * daily mid-month could be spent again). The switch is allowed only while the current counter
 * is empty, so spent can never pass the limit through it.
 */
async function refuseForgettingSpend(
  before: BudgetDefinition,
  period: Period,
  deps: AdminDeps,
): Promise<void> {
  const at = deps.now();
  const key = periodKey(before.period, at);
  const { figures } = await readCounter(deps.store, before, key);
  const empty =
    figures.allocatedPico === 0n &&
    figures.spentPico === 0n &&
    figures.allocatedTokens === 0 &&
    figures.spentTokens === 0;
  if (empty) return;
  throw new InvalidRequestError("The budget's period cannot change during a period with spending.", [
    {
      path: 'period',
      message:
        `cannot change from ${before.period} to ${period} while ${key} has spending or reservations, ` +
        `which the new period would not count; change it from ${isoSeconds(periodEnd(before.period, at))}`,
    },
  ]);
}
