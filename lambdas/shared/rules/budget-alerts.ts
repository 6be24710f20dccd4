import {
  type BudgetDefinition,
  type BudgetStore,
  type CounterFigures,
  thresholdsToAlert,
  utilization,
} from './budget.ts';
import { picoToUsd } from './money.ts';
import { keys } from './table.ts';
import type { ReservedScope } from './types.ts';

/** A budget crossed one of its alert thresholds. */
export interface BudgetAlert {
  scope: 'costCenter' | 'application';
  costCenter: string;
  applicationId?: string | undefined;
  threshold: number;
  utilization: number;
  period: string;
  periodKey: string;
  limitUsd?: number | undefined;
  spentUsd: number;
  limitTokens?: number | undefined;
  spentTokens: number;
  resetsAt?: string | undefined;
}

/**
 * Claim each alert threshold of `budget`, the one `scope` was held against, that its figures
 * passed (a sharded budget's: the shards summed, see `budgetFiguresOf`): each is claimed once
 * per period, whatever the concurrency, so only one caller sends it. A failure is reported,
 * never thrown.
 */
export async function claimAlerts(
  store: BudgetStore,
  scope: ReservedScope,
  budget: BudgetDefinition,
  figures: CounterFigures,
  onError: (what: string, error: unknown) => void,
): Promise<BudgetAlert[]> {
  // A sharded budget's thresholds are claimed on its first shard's item.
  const key = scope.shards !== undefined && scope.shards > 1 ? keys.counter(budget, scope.periodKey) : scope;
  const alerts: BudgetAlert[] = [];
  for (const threshold of thresholdsToAlert(budget, figures)) {
    try {
      if (await store.markAlert(key, threshold)) alerts.push(alertOf(scope, budget, figures, threshold));
    } catch (error) {
      onError('alert threshold not recorded', error);
    }
  }
  return alerts;
}

function alertOf(
  scope: ReservedScope,
  budget: BudgetDefinition,
  figures: CounterFigures,
  threshold: number,
): BudgetAlert {
  return {
    scope: scope.scope,
    costCenter: scope.costCenter,
    ...(scope.applicationId ? { applicationId: scope.applicationId } : {}),
    threshold,
    utilization: Math.round(utilization(budget, figures) * 10_000) / 10_000,
    period: scope.period,
    periodKey: scope.periodKey,
    ...(budget.limitPico !== undefined ? { limitUsd: picoToUsd(budget.limitPico) } : {}),
    spentUsd: picoToUsd(figures.spentPico),
    ...(budget.limitTokens !== undefined ? { limitTokens: budget.limitTokens } : {}),
    spentTokens: figures.spentTokens,
  };
}
