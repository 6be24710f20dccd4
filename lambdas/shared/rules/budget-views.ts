import { type BudgetDefinition, type CounterFigures, utilization } from './budget.ts';
import { formatUsd, picoToUsd } from './money.ts';
import { isoSeconds, periodEnd, periodStart } from './period.ts';

/** How a budget is shown: in answers and refusals, in the admin API, and its forecast. */

/**
 * A USD figure as a JSON number (exact below $1,000, and to the micro-dollar up to the $1e9
 * limit: a double holds 15 significant digits) and as an exact decimal string beside it.
 */
const usd = (name: string, pico: bigint): Record<string, number | string> => ({
  [`${name}Usd`]: picoToUsd(pico),
  [`${name}UsdDecimal`]: formatUsd(pico),
});

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
    ...(budget.applicationId ? { applicationId: budget.applicationId } : {}),
    period: budget.period,
    periodKey,
    ...(budget.limitPico !== undefined ? usd('limit', budget.limitPico) : {}),
    ...usd('spent', figures.spentPico),
    ...usd('reserved', figures.reservedPico),
    ...(remainingPico !== undefined ? usd('remaining', remainingPico) : {}),
    ...(budget.limitTokens !== undefined
      ? {
          limitTokens: budget.limitTokens,
          remainingTokens: Math.max(0, budget.limitTokens - figures.allocatedTokens),
        }
      : {}),
    spentTokens: figures.spentTokens,
    reservedTokens: figures.reservedTokens,
    resetsAt: isoSeconds(periodEnd(budget.period, at)),
    ...flowView(budget, figures),
  };
}

/** A budget's flow settings as clients see them: fitting, rate limits, and which policies are in force. */
function flowView(budget: BudgetDefinition, figures: CounterFigures): Record<string, unknown> {
  const used = utilization(budget, figures);
  return {
    ...(budget.fit ? { fit: budget.fit, minOutputTokens: budget.minOutputTokens ?? 1 } : {}),
    ...(budget.rateLimits ? { rateLimits: budget.rateLimits } : {}),
    ...(budget.policies?.length
      ? { policies: budget.policies.map((p) => ({ ...p, active: used >= p.atUtilization })) }
      : {}),
  };
}

/** Period-to-date burn rate and where it leads. */
export interface Forecast {
  burnRateUsdPerDay: number;
  projectedSpendUsd: number;
  /** When the USD limit runs out at this rate, if that is before the period ends; else null. */
  projectedRunOutAt: string | null;
}

const DAY_MS = 86_400_000;
/** The shortest elapsed time a rate is computed over, so the first seconds of a period do not explode it. */
const MIN_ELAPSED_MS = 60_000;

/** Forecast the period from what has been spent so far, at a constant rate. */
export function forecast(budget: BudgetDefinition, figures: CounterFigures, at: Date): Forecast {
  const start = periodStart(budget.period, at).getTime();
  const end = periodEnd(budget.period, at).getTime();
  const elapsed = Math.max(MIN_ELAPSED_MS, at.getTime() - start);
  const spentUsd = picoToUsd(figures.spentPico);
  const perMs = spentUsd / elapsed;
  let runOut: string | null = null;
  if (budget.limitPico !== undefined && perMs > 0) {
    const remainingUsd = Math.max(0, picoToUsd(budget.limitPico) - spentUsd);
    const when = at.getTime() + remainingUsd / perMs;
    if (when < end) runOut = isoSeconds(new Date(when));
  }
  return {
    burnRateUsdPerDay: round(perMs * DAY_MS),
    projectedSpendUsd: round(perMs * (end - start)),
    projectedRunOutAt: runOut,
  };
}

const round = (n: number) => Math.round(n * 1e9) / 1e9;
