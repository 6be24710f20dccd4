import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { type ReserveDeps, reserveBudget } from '../../lambdas/reserve-budget/core.ts';
import { FUNNEL_SETTLE_MS } from '../../lambdas/reserve-budget/shards.ts';
import type { BudgetDefinition, BudgetStore } from '../../lambdas/shared/rules/budget.ts';
import { SentryError } from '../../lambdas/shared/rules/errors.ts';
import { periodKey } from '../../lambdas/shared/rules/period.ts';
import { firstShardOf } from '../../lambdas/shared/rules/shards.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import type { ValidatedRequest } from '../../lambdas/shared/rules/types.ts';

/** Hold a request through ReserveBudget's core: `held`, or the refusal's error code. */
export const hold = (request: ValidatedRequest, deps: ReserveDeps, requestId: string = randomUUID()) =>
  reserveBudget({ ...request, requestId }, deps).then(
    () => 'held',
    (error: unknown) => (error instanceof SentryError ? error.code : 'other'),
  );

/** Hold requests one by one until one is refused (BUDGET_EXCEEDED); how many were held. */
export async function holdUntilRefused(request: ValidatedRequest, deps: ReserveDeps): Promise<number> {
  for (let i = 0; ; i++) {
    const outcome = await hold(request, deps);
    if (outcome !== 'held') {
      expect(outcome).toBe('BUDGET_EXCEEDED');
      return i;
    }
  }
}

/** A request ID whose first shard, of `count`, is `shard`. */
export function idOnShard(shard: number, count: number): string {
  for (;;) {
    const id = randomUUID();
    if (firstShardOf(id, count) === shard) return id;
  }
}

/**
 * Lower a sharded budget's USD limit and start its funnel as if long enough ago that every
 * process has seen it (see `FUNNEL_SETTLE_MS`), so the funnel's capacity is the limit's.
 */
export async function lowerSettled(
  store: BudgetStore,
  budget: BudgetDefinition,
  limitPico: bigint | undefined,
  now: number,
): Promise<void> {
  await store.putBudget({ ...budget, limitPico });
  const home = keys.counter(budget, periodKey(budget.period, new Date(now)));
  await store.funnel(home, { pico: limitPico, tokens: budget.limitTokens }, now - FUNNEL_SETTLE_MS);
}
