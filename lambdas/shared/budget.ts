import { formatUsd, picoToUsd } from './money.ts';
import { isoSeconds, type Period, periodEnd } from './period.ts';

/** A budget definition, as stored. Amounts in pico-USD. */
export interface BudgetDefinition {
  costCenter: string;
  period: Period;
  limitPico?: bigint | undefined;
  limitTokens?: number | undefined;
  alertThresholds: number[];
}

/** The counters of one budget scope for one period. `allocated = spent + reserved`. */
export interface CounterFigures {
  spentPico: bigint;
  reservedPico: bigint;
  allocatedPico: bigint;
  spentTokens: number;
  reservedTokens: number;
  allocatedTokens: number;
}

export const ZERO_FIGURES: CounterFigures = {
  spentPico: 0n,
  reservedPico: 0n,
  allocatedPico: 0n,
  spentTokens: 0,
  reservedTokens: 0,
  allocatedTokens: 0,
};

export interface CounterKey {
  pk: string;
  sk: string;
}

/** An amount held against a budget. */
export interface Amount {
  pico: bigint;
  tokens: number;
}

/** The single table's key attributes: the same in the CDK stack and the local stack. */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

/** The single-table keys: a budget and its period counters share a partition. */
export const keys = {
  costCenterBudget: (costCenter: string): CounterKey => ({ pk: `CC#${costCenter}`, sk: 'BUDGET' }),
  costCenterCounter: (costCenter: string, periodKey: string): CounterKey => ({
    pk: `CC#${costCenter}`,
    sk: `PERIOD#${periodKey}`,
  }),
};

/** The budget store: single-item conditional writes only (no transactions, no TTL). */
export interface BudgetStore {
  getBudget(costCenter: string): Promise<BudgetDefinition | undefined>;
  putBudget(budget: BudgetDefinition): Promise<void>;
  /**
   * Hold `amount` against a counter unless that would take it past `max`. Idempotent per
   * requestId: reserving again for a request that holds a reservation changes nothing.
   */
  reserve(
    key: CounterKey,
    requestId: string,
    amount: Amount,
    max: { pico?: bigint | undefined; tokens?: number | undefined },
    at: Date,
  ): Promise<{ reserved: boolean; figures: CounterFigures }>;
  /**
   * Release the request's reservation and add what it really used. Idempotent per requestId:
   * only the first call for a reservation changes the counters.
   */
  settle(
    key: CounterKey,
    requestId: string,
    reserved: Amount,
    used: Amount,
  ): Promise<{ settled: boolean; figures: CounterFigures }>;
  getCounter(key: CounterKey): Promise<CounterFigures>;
}

/** The budget as a client sees it in responses and BUDGET_EXCEEDED bodies. */
export function budgetView(
  budget: BudgetDefinition,
  periodKey: string,
  figures: CounterFigures,
  at: Date,
): Record<string, unknown> {
  const remainingPico =
    budget.limitPico === undefined
      ? undefined
      : budget.limitPico > figures.allocatedPico
        ? budget.limitPico - figures.allocatedPico
        : 0n;
  return {
    costCenter: budget.costCenter,
    period: budget.period,
    periodKey,
    ...(budget.limitPico !== undefined ? { limitUsd: picoToUsd(budget.limitPico) } : {}),
    spentUsd: picoToUsd(figures.spentPico),
    reservedUsd: picoToUsd(figures.reservedPico),
    ...(remainingPico !== undefined ? { remainingUsd: picoToUsd(remainingPico) } : {}),
    ...(budget.limitTokens !== undefined
      ? {
          limitTokens: budget.limitTokens,
          remainingTokens: Math.max(0, budget.limitTokens - figures.allocatedTokens),
        }
      : {}),
    spentTokens: figures.spentTokens,
    reservedTokens: figures.reservedTokens,
    resetsAt: isoSeconds(periodEnd(budget.period, at)),
  };
}

export { formatUsd };
