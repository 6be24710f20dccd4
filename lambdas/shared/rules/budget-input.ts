import { z } from 'zod';
import type { BudgetDefinition, BudgetScope } from './budget.ts';
import { usdToPico } from './money.ts';
import { PERIODS } from './period.ts';
import { shardsFor } from './shards.ts';

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

/** At most this many policies per budget: each is checked on every request. */
export const MAX_POLICIES = 10;

const modelName = z.string().min(1).max(200);

/** A soft limit, as config and admin API both write it. */
export const policySchema = z.discriminatedUnion('action', [
  z
    .object({
      atUtilization: z.number().min(0).max(10),
      action: z.literal('downgrade'),
      from: modelName,
      to: modelName,
    })
    .strict()
    .refine((p) => p.from !== p.to, { message: 'a downgrade needs two different models' }),
  z
    .object({
      atUtilization: z.number().min(0).max(10),
      action: z.literal('deny'),
      models: z.array(modelName).min(1).max(50),
    })
    .strict(),
]);

/** The longest a cached answer is kept: 30 days. */
export const MAX_CACHE_TTL_SECONDS = 30 * 24 * 3600;

/** The response cache of a budget: `{ ttlSeconds, anyTemperature? }`. */
export const cachePolicySchema = z
  .object({
    ttlSeconds: z.number().int().positive().max(MAX_CACHE_TTL_SECONDS),
    anyTemperature: z.boolean().optional(),
  })
  .strict();

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
    fit: z.enum(['refuse', 'clamp']).optional(),
    minOutputTokens: z.number().int().positive().optional(),
    rateLimits: z
      .object({
        requestsPerMinute: z.number().int().positive().optional(),
        tokensPerMinute: z.number().int().positive().optional(),
      })
      .strict()
      .refine((r) => r.requestsPerMinute !== undefined || r.tokensPerMinute !== undefined, {
        message: 'rateLimits needs requestsPerMinute, tokensPerMinute or both',
      })
      .optional(),
    policies: z.array(policySchema).max(MAX_POLICIES).optional(),
    cache: cachePolicySchema.optional(),
    /** The request rate to size the counter for: it is split into `shardsFor(rate)` items. */
    expectedRequestsPerSecond: z.number().finite().positive().max(100_000).optional(),
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
    ...(input.fit === 'clamp' ? { fit: 'clamp' as const } : {}),
    ...(input.minOutputTokens !== undefined ? { minOutputTokens: input.minOutputTokens } : {}),
    ...(input.rateLimits ? { rateLimits: input.rateLimits } : {}),
    ...(input.policies?.length ? { policies: input.policies } : {}),
    ...(input.cache ? { cache: input.cache } : {}),
    ...(input.expectedRequestsPerSecond !== undefined
      ? {
          expectedRequestsPerSecond: input.expectedRequestsPerSecond,
          shards: shardsFor(input.expectedRequestsPerSecond),
        }
      : {}),
    source,
  };
}
