import { z } from 'zod';
import type { BudgetDefinition, BudgetScope } from './budget.ts';
import { usdToPico } from './money.ts';
import { PERIODS } from './period.ts';

/** The alert thresholds of a budget that names none: at 80% and at 100% of its limit. */
export const DEFAULT_ALERT_THRESHOLDS: readonly number[] = [0.8, 1];

/** Money is counted in pico-USD: a finer amount cannot be stored, so it is refused. */
function isWholePico(usd: number): boolean {
  try {
    usdToPico(usd);
    return true;
  } catch {
    return false;
  }
}

const hasALimit = (b: { limitUsd?: number | undefined; limitTokens?: number | undefined }) =>
  b.limitUsd !== undefined || b.limitTokens !== undefined;

/**
 * A budget's own fields, wherever it comes from (the config's `budgets`, the admin API's PUT
 * body): one period, a USD limit, a token limit or both, and alert thresholds. Strict: unknown
 * fields are refused. The config extends it with its own fields, then adds {@link needsALimit}.
 */
export const budgetInputObject = z
  .object({
    period: z.enum(PERIODS),
    limitUsd: z
      .number()
      .finite()
      .positive()
      .max(1e9)
      .refine(isWholePico, 'must be a whole number of pico-dollars (at most 12 decimal places)')
      .optional(),
    limitTokens: z.number().int().positive().optional(),
    alertThresholds: z
      .array(z.number().gt(0).max(10))
      .max(10)
      .default(() => [...DEFAULT_ALERT_THRESHOLDS]),
  })
  .strict();

/** Refuse a budget that has neither limit. */
export const needsALimit = <
  S extends z.ZodType<{ limitUsd?: number | undefined; limitTokens?: number | undefined }>,
>(
  schema: S,
) => schema.refine(hasALimit, { message: 'a budget needs limitUsd, limitTokens or both' });

/** One budget as given by a person: the admin API's PUT body, each budget of the config. */
export const budgetInputSchema = needsALimit(budgetInputObject);
export type BudgetInput = z.output<typeof budgetInputSchema>;

/** The stored definition of a budget input, for a scope, written by the config or the admin API. */
export function budgetDefinitionOf(
  scope: BudgetScope,
  input: BudgetInput,
  source: NonNullable<BudgetDefinition['source']>,
): BudgetDefinition {
  return {
    ...scope,
    period: input.period,
    limitPico: input.limitUsd === undefined ? undefined : usdToPico(input.limitUsd),
    limitTokens: input.limitTokens,
    alertThresholds: input.alertThresholds,
    source,
  };
}
