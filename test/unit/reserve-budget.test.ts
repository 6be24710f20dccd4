import { describe, expect, it } from 'vitest';
import { reserveBudget, reserveOrAnswerFromCache } from '../../lambdas/reserve-budget/core.ts';
import type { BudgetDefinition } from '../../lambdas/shared/rules/budget.ts';
import { SentryError } from '../../lambdas/shared/rules/errors.ts';
import { periodKey } from '../../lambdas/shared/rules/period.ts';
import { cacheKey } from '../../lambdas/shared/rules/response-cache.ts';
import { scopeOf } from '../../lambdas/shared/rules/settlement.ts';
import { firstShardOf } from '../../lambdas/shared/rules/shards.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import {
  type BudgetFixture,
  budgetOf,
  catalog,
  loadFixture,
  RECEIVED_AT,
  type RequestFixture,
  storeWith,
  validatedRequest,
} from '../helpers/core-fixtures.ts';
import { MemoryBudgetStore } from '../helpers/memory-budget-store.ts';

type Scope = 'costCenter' | 'application';

interface ReserveCase {
  name: string;
  budgets: BudgetFixture[];
  /** pico-USD another request holds on the cost center's counter. */
  heldByOthers?: string;
  /** pico-USD other requests spent (settled) on the cost center's counter. */
  spentByOthers?: string;
  /** Requests of the same minute reserved before this one (each with the same worst case). */
  earlierRequests?: number;
  /** The request as ValidateRequest handed it on, when not the default nova-lite one. */
  request?: RequestFixture;
  /** The store's reserve fails after this many calls that succeed. */
  failReserveAfter?: number;
  expect: {
    scopes?: Scope[];
    /** The reservation and the request InvokeModel runs, when they differ from the default request's. */
    reserved?: { costPico: string; tokens: number; maxTokens?: number; model?: string };
    routing?: { requested: string; served: string };
    warnings?: number;
    error?: {
      name: string;
      scope?: Scope;
      message?: string;
      retryAfterSeconds?: number;
      reason?: 'held' | 'spent';
      limit?: string;
      policy?: Record<string, unknown>;
    };
    /** pico-USD held on each budget's counter afterwards. */
    heldPico?: Partial<Record<Scope, string>>;
  };
}

/** Deps with the clock at the request's arrival and no real waiting. */
const depsOf = (store: MemoryBudgetStore) => ({
  store,
  catalog,
  now: () => RECEIVED_AT,
  sleep: async () => undefined,
});

const { cases } = loadFixture<{ cases: ReserveCase[] }>('reserve-budget.json');
const at = new Date(RECEIVED_AT);

describe('reserveBudget', () => {
  it.each(cases)('$name', async (c) => {
    const store = storeWith(c.budgets);
    const counterOf = (scope: Scope) => {
      const budget = c.budgets.find((b) => (scope === 'application') === (b.applicationId === 'docs-helper'));
      if (!budget) throw new Error(`the case has no ${scope} budget`);
      return scopeOf(budgetOf(budget), at);
    };
    if (c.heldByOthers) {
      store.hold(counterOf('costCenter'), 'other', { pico: BigInt(c.heldByOthers), tokens: 0 }, at);
    }
    if (c.spentByOthers) {
      const spent = { pico: BigInt(c.spentByOthers), tokens: 0 };
      store.hold(counterOf('costCenter'), 'earlier', spent, at);
      await store.settle(counterOf('costCenter'), 'earlier', spent, spent);
    }
    for (let i = 0; i < (c.earlierRequests ?? 0); i++) {
      await reserveBudget(validatedRequest({ ...c.request, requestId: `earlier-${i}` }), depsOf(store));
    }
    if (c.failReserveAfter !== undefined) store.failOn('reserve', c.failReserveAfter);

    const outcome = await reserveBudget(validatedRequest(c.request), depsOf(store)).then(
      (reserved) => ({ reserved, reservation: reserved.reservation, error: undefined }),
      (error: Error) => ({ reserved: undefined, reservation: undefined, error }),
    );

    if (c.expect.error) {
      expect(outcome.error?.name).toBe(c.expect.error.name);
      const fields = outcome.error instanceof SentryError ? outcome.error.fields : undefined;
      if (c.expect.error.scope) expect(fields?.budget?.scope).toBe(c.expect.error.scope);
      if (c.expect.error.retryAfterSeconds !== undefined) {
        expect(fields?.retryAfterSeconds).toBe(c.expect.error.retryAfterSeconds);
      }
      if (c.expect.error.message) expect(outcome.error?.message).toBe(c.expect.error.message);
      if (c.expect.error.reason) expect(fields?.reason).toBe(c.expect.error.reason);
      if (c.expect.error.limit) expect(fields?.limit).toBe(c.expect.error.limit);
      if (c.expect.error.policy) expect(fields?.policy).toEqual(c.expect.error.policy);
    } else {
      expect(outcome.error).toBeUndefined();
      expect(outcome.reservation?.scopes.map((s) => s.scope)).toEqual(c.expect.scopes);
      const reserved = c.expect.reserved ?? { costPico: '27660000', tokens: 161 };
      expect(outcome.reservation).toMatchObject({
        requestId: 'req-1',
        costPico: reserved.costPico,
        tokens: reserved.tokens,
      });
      expect(outcome.reserved?.estimate).toMatchObject({
        costPico: reserved.costPico,
        tokens: reserved.tokens,
      });
      if (reserved.maxTokens) expect(outcome.reserved?.prompt.parameters.maxTokens).toBe(reserved.maxTokens);
      if (reserved.model) expect(outcome.reserved?.model.alias).toBe(reserved.model);
      expect(outcome.reservation?.routing).toEqual(
        c.expect.routing ? expect.objectContaining(c.expect.routing) : undefined,
      );
      expect(outcome.reservation?.warnings?.length ?? 0).toBe(c.expect.warnings ?? 0);
    }
    for (const [scope, pico] of Object.entries(c.expect.heldPico ?? {})) {
      expect(store.figures(counterOf(scope as Scope)).reservedPico).toBe(BigInt(pico));
    }
  });

  it('holds nothing more when the same request reserves again', async () => {
    const store = storeWith([{ costCenter: 'support', period: 'monthly', limitPico: '1000000000000' }]);
    const request = validatedRequest();

    await reserveBudget(request, depsOf(store));
    const again = await reserveBudget(request, depsOf(store));

    expect(store.figures(again.reservation.scopes[0] ?? { pk: '', sk: '' }).reservedPico).toBe(27_660_000n);
  });
});

describe('reserveOrAnswerFromCache', () => {
  const cached = {
    costCenter: 'support',
    period: 'monthly' as const,
    limitPico: '1000000000000',
    rateLimits: { requestsPerMinute: 1 },
    cache: { ttlSeconds: 60 },
  };
  /** Keep an answer for the default request at temperature 0, as SettleUsage would have. */
  const keep = (store: MemoryBudgetStore, expiresAt: number) => {
    const request = validatedRequest({ temperature: 0 });
    const key = keys.cachedAnswer(
      'support',
      cacheKey('support', { modelId: request.model.modelId, ...request.prompt }),
    );
    return store.putCachedAnswer(
      key,
      JSON.stringify({ content: [{ text: 'kept' }], stopReason: 'end_turn', usage: {}, latencyMs: 1 }),
      new Date(expiresAt),
    );
  };

  it.each([
    [
      'a fresh answer is a hit: nothing held, no rate window counted',
      { temperature: 0 },
      RECEIVED_AT + 1,
      true,
    ],
    ['an expired answer is a miss', { temperature: 0 }, RECEIVED_AT, false],
    [
      'Cache-Control: no-cache is a miss, even with a fresh answer',
      { temperature: 0, noCache: true },
      RECEIVED_AT + 1,
      false,
    ],
    ['a sampled request is a miss, even with a fresh answer', { temperature: 0.5 }, RECEIVED_AT + 1, false],
  ])('%s', async (_name, fixture: RequestFixture, expiresAt, hit) => {
    const store = storeWith([cached]);
    await keep(store, expiresAt);

    const out = await reserveOrAnswerFromCache(validatedRequest(fixture), depsOf(store));

    expect('cacheHit' in out).toBe(hit);
    expect(store.figures(scopeOf(budgetOf(cached), at)).reservedPico).toBe(hit ? 0n : 27_660_000n);
    expect(store.windows.size).toBe(hit ? 0 : 1);
  });

  it.each([
    [
      'a cacheable miss hands SettleUsage the policy to keep its answer under',
      { temperature: 0 },
      { ttlSeconds: 60 },
    ],
    ['a miss with Cache-Control: no-cache keeps nothing', { temperature: 0, noCache: true }, undefined],
    ['a sampled miss keeps nothing', {}, undefined],
  ])('%s', async (_name, fixture: RequestFixture, policy) => {
    const store = storeWith([cached]);

    const out = await reserveOrAnswerFromCache(validatedRequest(fixture), depsOf(store));

    expect('reservation' in out && out.reservation.cache).toEqual(policy);
  });
});

describe('reserveBudget on a sharded budget', () => {
  const request = validatedRequest();
  const worst = BigInt(request.estimate.costPico);
  const amount = { pico: worst, tokens: request.estimate.tokens };
  // Four shards of two worst cases each.
  const budget: BudgetDefinition = {
    costCenter: request.tags.costCenter,
    period: 'monthly',
    limitPico: worst * 8n,
    alertThresholds: [],
    shards: 4,
  };
  const shardKey = (shard: number) => keys.counter(budget, periodKey('monthly', at), shard);
  const first = firstShardOf(request.requestId, 4);
  const others = [0, 1, 2, 3].filter((shard) => shard !== first);

  /** A store whose shards hold `held[i]` worst cases in flight and `spent[i]` settled. */
  async function storeHolding(held: number[], spent: number[] = [0, 0, 0, 0]): Promise<MemoryBudgetStore> {
    const store = new MemoryBudgetStore([budget]);
    await store.pinShards(shardKey(0), 4, { pico: budget.limitPico });
    for (const shard of [0, 1, 2, 3]) {
      for (let i = 0; i < (held[shard] ?? 0) + (spent[shard] ?? 0); i++) {
        const id = `other-${shard}-${i}`;
        await store.reserve(shardKey(shard), id, amount, {}, at, undefined, { count: 4 });
        if (i < (spent[shard] ?? 0)) await store.settle(shardKey(shard), id, amount, amount);
      }
    }
    return store;
  }

  const refusal = (store: MemoryBudgetStore) =>
    reserveBudget(request, depsOf(store)).then(
      () => undefined,
      (error: unknown) => (error instanceof SentryError ? error : undefined),
    );

  it('holds on its own shard while that has room', async () => {
    const { reservation } = await reserveBudget(request, depsOf(await storeHolding([1, 1, 1, 1])));
    expect(reservation.scopes).toMatchObject([{ shard: first, shards: 4, ...shardKey(first) }]);
  });

  it('holds on the roomiest other shard when its own is full', async () => {
    const held = [0, 0, 0, 0];
    held[first] = 2;
    held[others[0] ?? 0] = 2;
    held[others[1] ?? 0] = 1;
    const store = await storeHolding(held);

    const { reservation } = await reserveBudget(request, depsOf(store));

    expect(reservation.scopes).toMatchObject([{ shard: others[2], shards: 4, ...shardKey(others[2] ?? 0) }]);
    expect(store.figures(shardKey(others[2] ?? 0)).reservedPico).toBe(worst);
  });

  it('answers held, with the shards summed, when only requests in flight fill the shards', async () => {
    const store = await storeHolding([2, 2, 2, 1], [0, 0, 0, 1]);

    const error = await refusal(store);

    expect(error?.fields.reason).toBe('held');
    expect(error?.fields.budget).toMatchObject({
      spentUsd: Number(worst) / 1e12,
      reservedUsd: (7 * Number(worst)) / 1e12,
    });
  });

  it('answers spent when every shard has spent its share', async () => {
    const error = await refusal(await storeHolding([0, 0, 0, 0], [2, 2, 2, 2]));
    expect(error?.fields.reason).toBe('spent');
  });

  it('gives back its first hold when the application budget refuses, and holds nothing', async () => {
    const store = await storeHolding([0, 0, 0, 0]);
    const app = { ...budget, applicationId: request.tags.applicationId, limitPico: 1n, shards: undefined };
    await store.putBudget(app);

    expect((await refusal(store))?.name).toBe('BudgetExceededError');
    const held = await store.getCounters([0, 1, 2, 3].map(shardKey));
    expect(held.map((f) => f.reservedPico)).toEqual([0n, 0n, 0n, 0n]);
  });
});
