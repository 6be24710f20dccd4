import { describe, expect, it } from 'vitest';
import { reserveBudget, reserveOrAnswerFromCache } from '../../lambdas/reserve-budget/core.ts';
import { SentryError } from '../../lambdas/shared/rules/errors.ts';
import { cacheKey } from '../../lambdas/shared/rules/response-cache.ts';
import { scopeOf } from '../../lambdas/shared/rules/settlement.ts';
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
import type { MemoryBudgetStore } from '../helpers/memory-budget-store.ts';

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
