import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetDefinition } from '../../lambdas/shared/rules/budget.ts';
import { periodKey } from '../../lambdas/shared/rules/period.ts';
import { readCounter } from '../../lambdas/shared/rules/sharded-counter.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { catalog, RECEIVED_AT, validatedRequest } from '../helpers/core-fixtures.ts';
import { startTestRuntime } from '../helpers/local-runtime.ts';
import { MemoryBudgetStore } from '../helpers/memory-budget-store.ts';
import { hold, holdUntilRefused, idOnShard, lowerSettled } from '../helpers/sharded.ts';

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
  it('funnels a lowered limit while the first shard is over its share, even when it goes back up', async () => {
    const { budget, tagged } = setup('dyn-restored', 40n);
    await runtime.store.putBudget(budget);
    for (let i = 0; i < 10; i++) expect(await hold(tagged, deps(), onFirstShard())).toBe('held');

    await lowerSettled(runtime.store, budget, cost * 16n, RECEIVED_AT);
    expect(await holdUntilRefused(tagged, deps())).toBe(6);
    await runtime.store.putBudget(budget);

    expect(await holdUntilRefused(tagged, deps())).toBe(24);
    expect(await allocated(budget)).toBe(cost * 40n);
  });

  it('takes the funnel off once every shard is within its share again', async () => {
    const { budget, tagged } = setup('dyn-recovered', 40n);
    await runtime.store.putBudget(budget);
    const first = Array.from({ length: 10 }, () => onFirstShard());
    for (const id of first) expect(await hold(tagged, deps(), id)).toBe('held');
    await lowerSettled(runtime.store, budget, cost * 16n, RECEIVED_AT);
    expect(await hold(tagged, deps())).toBe('held');
    const home = keys.counter(budget, month);
    expect((await runtime.store.getCounter(home)).funnel).toBeDefined();

    for (const id of first.slice(0, 8)) await runtime.store.release(home, id);
    expect(await hold(tagged, deps(), idOnShard(2, 4))).toBe('held');

    expect((await runtime.store.getCounter(home)).funnel).toBeUndefined();
    expect((await runtime.store.getCounter(keys.counter(budget, month, 2))).allocatedPico).toBe(cost);
    expect(await allocated(budget)).toBe(cost * 4n);
  });

  it('counts a limit removed mid-period, so adding it back funnels', async () => {
    const { budget, tagged } = setup('dyn-removed', 8n, 10_000_000);
    await runtime.store.putBudget(budget);
    expect(await hold(tagged, deps(), onFirstShard())).toBe('held');
    await runtime.store.putBudget({ ...budget, limitPico: undefined });
    for (let i = 0; i < 5; i++) expect(await hold(tagged, deps(), onFirstShard())).toBe('held');

    await lowerSettled(runtime.store, budget, budget.limitPico, RECEIVED_AT);

    expect(await holdUntilRefused(tagged, deps())).toBe(2);
    expect(await allocated(budget)).toBe(cost * 8n);
  });
});

describe.each([
  ['the in-memory store', () => new MemoryBudgetStore()],
  ['the DynamoDB store on dynalite', () => runtime.store],
])('the funnel guards of %s', (_name, storeOf) => {
  const budget: BudgetDefinition = {
    costCenter: 'guards',
    period: 'monthly',
    alertThresholds: [],
    shards: 4,
  };
  const amount = { pico: cost, tokens: 10 };
  const at = new Date(RECEIVED_AT);

  it('funnels only when the stored peaks show a lowering, and only writes within the same funnel', async () => {
    const store = storeOf();
    const home = keys.counter({ ...budget, costCenter: `guards-${randomUUID()}` }, month);
    await store.pinShards(home, 4, { pico: cost * 40n });

    expect(await store.funnel(home, { pico: cost * 40n }, RECEIVED_AT)).toBeUndefined();
    const token = await store.funnel(home, { pico: cost * 16n }, RECEIVED_AT);
    expect(token).toBeDefined();
    expect(await store.funnel(home, { pico: cost * 16n }, RECEIVED_AT)).toBe(token);

    const write = (funnel: string | false) =>
      store.reserve(home, randomUUID(), amount, {}, at, undefined, { count: 4, funnel });
    expect((await write('another funnel')).reserved).toBe(false);
    expect((await write(false)).reserved).toBe(false);
    expect((await write(token ?? '')).reserved).toBe(true);
  });

  it('takes a funnel off only with its token and while the first shard is within its share', async () => {
    const store = storeOf();
    const home = keys.counter({ ...budget, costCenter: `guards-${randomUUID()}` }, month);
    await store.pinShards(home, 4, { pico: cost * 40n });
    const token = (await store.funnel(home, { pico: cost * 16n }, RECEIVED_AT)) ?? '';
    await store.reserve(home, randomUUID(), { pico: cost * 5n, tokens: 10 }, {}, at, undefined, {
      count: 4,
      funnel: token,
    });

    expect(await store.unfunnel(home, 'another funnel', { pico: cost * 16n }, { pico: cost * 4n })).toBe(
      false,
    );
    expect(await store.unfunnel(home, token, { pico: cost * 16n }, { pico: cost * 4n })).toBe(false);
    expect(await store.unfunnel(home, token, { pico: cost * 20n }, { pico: cost * 5n })).toBe(true);
    expect((await store.getCounter(home)).funnel).toBeUndefined();
    expect((await store.pinShards(home, 4, { pico: cost * 20n })).peak.pico).toBe(cost * 20n);
  });

  it('says which counters a request holds a reservation on', async () => {
    const store = storeOf();
    const home = keys.counter({ ...budget, costCenter: `guards-${randomUUID()}` }, month);
    const other = { ...home, pk: `${home.pk}#S1` };
    const id = randomUUID();
    await store.reserve(home, id, amount, {}, at, undefined, { count: 4 });

    const [held, notHeld] = await store.getCounters([home, other], id);
    expect(held?.holding).toBe(true);
    expect(notHeld?.holding).toBeUndefined();
    expect((await store.getCounters([home]))[0]?.holding).toBeUndefined();
  });
});
