import { describe, expect, it } from 'vitest';
import { reserveBudget } from '../../lambdas/reserve-budget/core.ts';
import { FUNNEL_SETTLE_MS } from '../../lambdas/reserve-budget/shards.ts';
import { type BudgetDefinition, ZERO_FIGURES } from '../../lambdas/shared/rules/budget.ts';
import { SentryError } from '../../lambdas/shared/rules/errors.ts';
import { periodKey } from '../../lambdas/shared/rules/period.ts';
import { type BudgetReservation, scopeOf, settleRequest } from '../../lambdas/shared/rules/settlement.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import { sweepReservations } from '../../lambdas/sweep-reservations/core.ts';
import { catalog, RECEIVED_AT, validatedRequest } from '../helpers/core-fixtures.ts';
import { MemoryBudgetStore } from '../helpers/memory-budget-store.ts';
import { hold, holdUntilRefused, idOnShard, lowerSettled } from '../helpers/sharded.ts';

/**
 * A sharded budget's figures, alerts and refusals, over the in-memory store: what a settle shows
 * and alerts on is the budget (its shards summed), never one shard.
 */
const at = new Date(RECEIVED_AT);
const worst = { pico: 1_000_000n, tokens: 100 };
const noErrors = (what: string, error: unknown) => {
  throw new Error(`${what}: ${String(error)}`);
};

/** A budget of 8 worst cases in 4 shards (2 each), alerting at 50%. */
const budgetFor = (costCenter: string): BudgetDefinition => ({
  costCenter,
  period: 'monthly',
  limitPico: worst.pico * 8n,
  alertThresholds: [0.5],
  shards: 4,
});

/** Hold a worst case on `shard` for `requestId`, and the reservation that names it. */
async function holdOn(store: MemoryBudgetStore, budget: BudgetDefinition, shard: number, requestId: string) {
  const scope = scopeOf(budget, at, shard, 4);
  await store.reserve(scope, requestId, worst, {}, at, undefined, { count: 4 });
  const reservation: BudgetReservation = {
    requestId,
    scopes: [scope],
    costPico: worst.pico.toString(),
    tokens: worst.tokens,
  };
  return reservation;
}

const detailOf = (budget: BudgetDefinition, requestId: string) => ({
  requestId,
  tags: { costCenter: budget.costCenter, applicationId: 'app', environment: 'prod' },
  modelId: 'm',
  at,
});

async function settleOn(
  store: MemoryBudgetStore,
  budget: BudgetDefinition,
  shard: number,
  requestId: string,
) {
  const reservation = await holdOn(store, budget, shard, requestId);
  return settleRequest(store, reservation, worst, detailOf(budget, requestId), noErrors);
}

describe('a settle on a sharded budget', () => {
  it("shows the budget's figures, the shards summed, not its own shard's", async () => {
    const budget = budgetFor('summed');
    const store = new MemoryBudgetStore([budget]);
    await store.pinShards(keys.counter(budget, periodKey('monthly', at)), 4, { pico: budget.limitPico });
    await settleOn(store, budget, 1, 'a');
    await settleOn(store, budget, 2, 'b');

    const { figures } = await settleOn(store, budget, 3, 'c');

    expect(figures[0]?.spentPico).toBe(worst.pico * 3n);
  });

  it('alerts once the sum passes a threshold, though no settling shard is past it of its own share', async () => {
    const budget = budgetFor('stalled');
    const store = new MemoryBudgetStore([budget]);
    await store.pinShards(keys.counter(budget, periodKey('monthly', at)), 4, { pico: budget.limitPico });
    // Shard 1 fills (100% of its share) while the budget is at 25%: no alert.
    expect((await settleOn(store, budget, 1, 'a')).alerts).toEqual([]);
    expect((await settleOn(store, budget, 1, 'b')).alerts).toEqual([]);
    // Shards 0 and 2 each reach 50% of theirs: the budget passes 50% at the second.
    expect((await settleOn(store, budget, 0, 'c')).alerts).toEqual([]);
    const crossing = await settleOn(store, budget, 2, 'd');

    expect(crossing.alerts).toEqual([expect.objectContaining({ costCenter: 'stalled', threshold: 0.5 })]);
    expect((await settleOn(store, budget, 3, 'e')).alerts).toEqual([]);
  });
});

describe('the sweeper on a sharded budget', () => {
  it('alerts from a fresh sum once its shards fall idle, when no settle did', async () => {
    const budget = budgetFor('idle');
    const store = new MemoryBudgetStore([budget]);
    // Settled straight on the store: no settle checked the alerts.
    for (const [shard, id] of [
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
      [3, 'd'],
    ] as const) {
      const scope = scopeOf(budget, at, shard, 4);
      await store.reserve(scope, id, worst, {}, at, undefined, { count: 4 });
      await store.settle(scope, id, worst, worst);
    }

    const result = await sweepReservations({ store, now: () => new Date(RECEIVED_AT + 1000) });

    expect(result.alerts).toEqual([expect.objectContaining({ costCenter: 'idle', threshold: 0.5 })]);
    expect((await sweepReservations({ store, now: () => new Date(RECEIVED_AT + 2000) })).alerts).toEqual([]);
  });

  it('leaves the idle shards on the index when the check fails, and alerts on the next run', async () => {
    const budget = budgetFor('retried');
    const store = new MemoryBudgetStore([budget]);
    for (const shard of [0, 1, 2, 3]) {
      const scope = scopeOf(budget, at, shard, 4);
      await store.reserve(scope, `r${shard}`, worst, {}, at, undefined, { count: 4 });
      await store.settle(scope, `r${shard}`, worst, worst);
    }
    const later = () => new Date(RECEIVED_AT + 1000);

    store.failOn('getBudgets');
    const failed = await sweepReservations({ store, now: later, onError: () => undefined });
    store.recover('getBudgets');
    const retried = await sweepReservations({ store, now: later });

    expect(failed).toMatchObject({ alerts: [], forgotten: 0 });
    expect(retried.alerts).toEqual([expect.objectContaining({ costCenter: 'retried', threshold: 0.5 })]);
    expect(retried.forgotten).toBe(4);
  });

  it('reads nothing more for idle counters of unsharded budgets', async () => {
    const budget = { ...budgetFor('single'), shards: undefined };
    const store = new MemoryBudgetStore([budget]);
    const scope = scopeOf(budget, at);
    await store.reserve(scope, 'one', worst, {}, at, undefined, { count: 1 });
    await store.settle(scope, 'one', worst, worst);

    store.failOn('getBudgets');
    const result = await sweepReservations({ store, now: () => new Date(RECEIVED_AT + 1000) });

    expect(result).toMatchObject({ alerts: [], forgotten: 1 });
  });
});

describe('reserveBudget on a budget with more shards than its requests fit', () => {
  it('refuses a request larger than every shard with a message that says so', async () => {
    const request = validatedRequest();
    const costPico = BigInt(request.estimate.costPico);
    const budget: BudgetDefinition = {
      costCenter: request.tags.costCenter,
      period: 'monthly',
      limitPico: costPico * 8n,
      alertThresholds: [],
      shards: 16,
      expectedRequestsPerSecond: 200,
    };
    const store = new MemoryBudgetStore([budget]);

    const error = await reserveBudget(request, {
      store,
      catalog,
      now: () => RECEIVED_AT,
      sleep: async () => undefined,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(SentryError);
    expect((error as Error).message).toContain("larger than each of the budget's 16 shards");
    expect((error as SentryError).fields.budget).toMatchObject({ spentUsd: 0 });
  });
});

describe('a sharded budget whose limit changes mid-period', () => {
  const request = validatedRequest();
  const cost = BigInt(request.estimate.costPico);
  const deps = (store: MemoryBudgetStore) => ({
    store,
    catalog,
    now: () => RECEIVED_AT,
    sleep: async () => undefined,
  });

  /** A budget of `worstCases` of the request in 4 shards, and the request tagged for it. */
  function setup(name: string, worstCases: bigint) {
    const budget: BudgetDefinition = {
      costCenter: name,
      period: 'monthly',
      limitPico: cost * worstCases,
      alertThresholds: [],
      shards: 4,
    };
    const tagged = { ...request, tags: { ...request.tags, costCenter: name } };
    return { budget, tagged, store: new MemoryBudgetStore([budget]) };
  }

  const onFirstShard = () => idOnShard(0, 4);

  const allocated = async (store: MemoryBudgetStore, budget: BudgetDefinition) => {
    const shards = await store.getCounters(
      [0, 1, 2, 3].map((shard) => keys.counter(budget, periodKey('monthly', at), shard)),
    );
    return shards.reduce((sum, f) => sum + f.allocatedPico, 0n);
  };

  it('never lets the shards add up past a lowered limit', async () => {
    const { budget, tagged, store } = setup('lowered', 40n);
    // 5, 3, 2 and 2 on the four shards: 12 in all.
    for (const [shard, times] of [
      [0, 5],
      [1, 3],
      [2, 2],
      [3, 2],
    ] as const) {
      for (let i = 0; i < times; i++)
        expect(await hold(tagged, deps(store), idOnShard(shard, 4))).toBe('held');
    }

    // Lowered to 15: shares of 3.75 would let shards 2 and 3 take 1 more each and shard 1 none,
    // but shard 0 already holds 5: the funnel holds exactly 3 more.
    await lowerSettled(store, budget, cost * 15n, RECEIVED_AT);

    expect(await holdUntilRefused(tagged, deps(store))).toBe(3);
    expect(await allocated(store, budget)).toBe(cost * 15n);
  });

  it('stays funneled while any shard, not only the first, holds more than its share', async () => {
    const { budget, tagged, store } = setup('other-over', 40n);
    for (let i = 0; i < 10; i++) expect(await hold(tagged, deps(store), idOnShard(1, 4))).toBe('held');
    // Lowered to 16: shard 1 holds 10 against a share of 4; the first shard holds none.
    await lowerSettled(store, budget, cost * 16n, RECEIVED_AT);

    // Per-share caps would let shards 0, 2 and 3 take 4 each, 22 in all.
    expect(await holdUntilRefused(tagged, deps(store))).toBe(6);
    expect(await allocated(store, budget)).toBe(cost * 16n);
  });

  it('keeps the highest limit the period ran under, so raising then lowering stays capped', async () => {
    const { budget, tagged, store } = setup('raised', 8n);
    await reserveBudget({ ...tagged, requestId: 'first' }, deps(store));
    await store.putBudget({ ...budget, limitPico: cost * 40n });
    for (let i = 0; i < 20; i++) await reserveBudget({ ...tagged, requestId: `raised-${i}` }, deps(store));

    await lowerSettled(store, budget, cost * 22n, RECEIVED_AT);

    expect(await holdUntilRefused(tagged, deps(store))).toBe(1);
    expect(await allocated(store, budget)).toBe(cost * 22n);
  });

  it('stays funneled while the first shard holds more than its share, even when the limit goes back up', async () => {
    const { budget, tagged, store } = setup('restored', 40n);
    // Ten on the first shard: its whole share of 10.
    for (let i = 0; i < 10; i++) expect(await hold(tagged, deps(store), onFirstShard())).toBe('held');
    // Lowered to 16: the first shard is over its share of 4, so the period funnels, to 16.
    await lowerSettled(store, budget, cost * 16n, RECEIVED_AT);
    expect(await holdUntilRefused(tagged, deps(store))).toBe(6);

    await store.putBudget(budget);

    // Shares of 10 again would let the three other shards take 30 more, 46 in all.
    expect(await holdUntilRefused(tagged, deps(store))).toBe(24);
    expect(await allocated(store, budget)).toBe(cost * 40n);
  });

  it('goes back to per-share caps once every shard is within its share of the lowered limit', async () => {
    const { budget, tagged, store } = setup('recovered', 40n);
    const first = Array.from({ length: 10 }, () => onFirstShard());
    for (const id of first) expect(await hold(tagged, deps(store), id)).toBe('held');
    await lowerSettled(store, budget, cost * 16n, RECEIVED_AT);
    expect(await hold(tagged, deps(store))).toBe('held');
    const home = keys.counter(budget, periodKey('monthly', at));
    expect((await store.getCounter(home)).funnel).toBeDefined();

    // Eight of the ten give their holds back (their requests failed before Bedrock): 3 left.
    for (const id of first.slice(0, 8)) await store.release(home, id);
    expect(await hold(tagged, deps(store), idOnShard(2, 4))).toBe('held');

    expect((await store.getCounter(home)).funnel).toBeUndefined();
    expect(store.figures(keys.counter(budget, periodKey('monthly', at), 2)).allocatedPico).toBe(cost);
    expect(await allocated(store, budget)).toBe(cost * 4n);
  });

  it('counts a limit removed mid-period, so adding it back funnels', async () => {
    const setUp = setup('removed', 8n);
    const { tagged, store } = setUp;
    // A token limit throughout, so only the USD limit changes.
    const budget = { ...setUp.budget, limitTokens: 10_000_000 };
    await store.putBudget(budget);
    await reserveBudget({ ...tagged, requestId: onFirstShard() }, deps(store));
    // No USD limit for a while: six requests on the first shard, past its share of 2.
    await store.putBudget({ ...budget, limitPico: undefined });
    for (let i = 0; i < 5; i++) await reserveBudget({ ...tagged, requestId: onFirstShard() }, deps(store));

    await lowerSettled(store, budget, budget.limitPico, RECEIVED_AT);

    expect(await holdUntilRefused(tagged, deps(store))).toBe(2);
    expect(await allocated(store, budget)).toBe(cost * 8n);
  });

  it('leaves the other shards room for their shares while a funnel begun under a lower limit settles', async () => {
    const { budget, tagged, store } = setup('settling', 40n);
    for (let i = 0; i < 10; i++) expect(await hold(tagged, deps(store), onFirstShard())).toBe('held');
    await store.putBudget({ ...budget, limitPico: cost * 16n });
    // A request that read an older definition (12) begins the funnel; the limit now is 16.
    const home = keys.counter(budget, periodKey('monthly', at));
    let clock = RECEIVED_AT;
    expect(await store.funnel(home, { pico: cost * 12n }, clock)).toBeDefined();
    const clocked = { ...deps(store), now: () => clock };

    // Processes with the current definition may not have seen the funnel yet, and may fill the
    // other three shards to their shares of 4: the first shard keeps 16 - 12 = 4, and holds 10.
    expect(await holdUntilRefused(tagged, clocked)).toBe(0);
    clock += FUNNEL_SETTLE_MS;

    expect(await holdUntilRefused(tagged, clocked)).toBe(6);
    expect(await allocated(store, budget)).toBe(cost * 16n);
  });

  it('gives a funnel begun by the current limit its whole room at once', async () => {
    const { budget, tagged, store } = setup('at-once', 40n);
    for (let i = 0; i < 10; i++) expect(await hold(tagged, deps(store), onFirstShard())).toBe('held');
    await store.putBudget({ ...budget, limitPico: cost * 16n });

    expect(await holdUntilRefused(tagged, deps(store))).toBe(6);
    expect(await allocated(store, budget)).toBe(cost * 16n);
  });

  /** The store's next reserve goes through but answers refused, as when the SDK's retry of a write whose answer was lost is refused. */
  function loseFirstAnswer(store: MemoryBudgetStore): void {
    const reserve = store.reserve.bind(store);
    let lose = true;
    store.reserve = async (...args) => {
      const result = await reserve(...args);
      if (!lose) return result;
      lose = false;
      return { reserved: false, figures: { ...ZERO_FIGURES } };
    };
  }

  it('finds its own hold when a write went through but was answered as refused', async () => {
    const { budget, tagged, store } = setup('lost-answer', 40n);
    await store.pinShards(keys.counter(budget, periodKey('monthly', at)), 4, { pico: budget.limitPico });
    loseFirstAnswer(store);
    const id = onFirstShard();

    const { reservation } = await reserveBudget({ ...tagged, requestId: id }, deps(store));

    expect(reservation.scopes).toMatchObject([{ shard: 0 }]);
    expect(await allocated(store, budget)).toBe(cost);
  });

  it('gives back such a hold when the read that would find it fails', async () => {
    const { budget, tagged, store } = setup('lost-then-failed', 40n);
    await store.pinShards(keys.counter(budget, periodKey('monthly', at)), 4, { pico: budget.limitPico });
    loseFirstAnswer(store);
    store.failOn('getCounters');

    await expect(reserveBudget({ ...tagged, requestId: onFirstShard() }, deps(store))).rejects.toThrow();

    store.recover('getCounters');
    expect(await allocated(store, budget)).toBe(0n);
  });
});
