import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetDefinition } from '../../lambdas/shared/rules/budget.ts';
import { periodKey } from '../../lambdas/shared/rules/period.ts';
import { readCounter } from '../../lambdas/shared/rules/sharded-counter.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { catalog, RECEIVED_AT, validatedRequest } from '../helpers/core-fixtures.ts';
import { startTestRuntime } from '../helpers/local-runtime.ts';
import { hold, holdUntilRefused, idOnShard } from '../helpers/sharded.ts';

/**
 * A sharded budget's limits changed mid-period, through ReserveBudget's core on the DynamoDB
 * budget store (dynalite): the pin's peak limits and its funneled mark as the adapter writes them.
 */
let runtime: LocalRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(() => runtime?.close());

const request = validatedRequest();
const cost = BigInt(request.estimate.costPico);
const month = periodKey('monthly', new Date(RECEIVED_AT));
const deps = () => ({ store: runtime.store, catalog, now: () => RECEIVED_AT, sleep: async () => undefined });

function setup(name: string, worstCases: bigint, limitTokens?: number) {
  const budget: BudgetDefinition = {
    costCenter: name,
    period: 'monthly',
    limitPico: cost * worstCases,
    limitTokens,
    alertThresholds: [],
    shards: 4,
  };
  return { budget, tagged: { ...request, tags: { ...request.tags, costCenter: name } } };
}

const onFirstShard = () => idOnShard(0, 4);

const allocated = async (budget: BudgetDefinition) =>
  (await readCounter(runtime.store, budget, month)).figures.allocatedPico;

describe('a sharded budget on DynamoDB whose limit changes mid-period', () => {
  it('stays within a lowered limit, and stays funneled when it goes back up', async () => {
    const { budget, tagged } = setup('dyn-restored', 40n);
    await runtime.store.putBudget(budget);
    for (let i = 0; i < 12; i++) expect(await hold(tagged, deps())).toBe('held');

    await runtime.store.putBudget({ ...budget, limitPico: cost * 39n });
    expect(await holdUntilRefused(tagged, deps())).toBe(27);
    await runtime.store.putBudget(budget);

    expect(await holdUntilRefused(tagged, deps())).toBe(1);
    expect(await allocated(budget)).toBe(cost * 40n);
  });

  it('counts a limit removed mid-period, so adding it back funnels', async () => {
    const { budget, tagged } = setup('dyn-removed', 8n, 10_000_000);
    await runtime.store.putBudget(budget);
    expect(await hold(tagged, deps(), onFirstShard())).toBe('held');
    await runtime.store.putBudget({ ...budget, limitPico: undefined });
    for (let i = 0; i < 5; i++) expect(await hold(tagged, deps(), onFirstShard())).toBe('held');

    await runtime.store.putBudget(budget);

    expect(await holdUntilRefused(tagged, deps())).toBe(2);
    expect(await allocated(budget)).toBe(cost * 8n);
  });
});
