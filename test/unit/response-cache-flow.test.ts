import { describe, expect, it } from 'vitest';
import { reserveOrAnswerFromCache } from '../../lambdas/reserve-budget/core.ts';
import { answerFromCache } from '../../lambdas/settle-usage/cache-hit.ts';
import { type InvokeResponse, settleUsage } from '../../lambdas/settle-usage/core.ts';
import { picoToUsd } from '../../lambdas/shared/rules/money.ts';
import { periodKey } from '../../lambdas/shared/rules/period.ts';
import type { Usage } from '../../lambdas/shared/rules/pricing.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import {
  type BudgetFixture,
  catalog,
  loadFixture,
  RECEIVED_AT,
  type RequestFixture,
  storeWith,
  validatedRequest,
} from '../helpers/core-fixtures.ts';
import type { MemoryBudgetStore } from '../helpers/memory-budget-store.ts';

interface Ask extends RequestFixture {
  /** Seconds after the first request that this one arrives. */
  afterSeconds?: number;
  /** How Bedrock stopped, when it is called (default end_turn). */
  stopReason?: string;
  /** The answer's length in characters, when not a short one. */
  answerChars?: number;
}

interface CacheCase {
  name: string;
  budgets: BudgetFixture[];
  first: Ask;
  second: Ask;
  /** `stored`: answers the cache keeps after the first request. */
  expect: { stored: number; hit: boolean };
}

const { cases } = loadFixture<{ cases: CacheCase[] }>('response-cache.json');

const USAGE: Usage = {
  inputTokens: 61,
  outputTokens: 100,
  totalTokens: 161,
  cacheReadInputTokens: 0,
  cacheWriteInputTokens: 0,
};

/** One request through ReserveBudget, then InvokeModel (faked) and SettleUsage, or the cache hit's answer. */
async function ask(store: MemoryBudgetStore, a: Ask, requestId: string) {
  const now = RECEIVED_AT + (a.afterSeconds ?? 0) * 1000;
  const request = { ...validatedRequest({ ...a, requestId }), receivedAt: now };
  const settleDeps = { store, catalog, now: () => now + 20, onError: (what: string) => expect.fail(what) };
  const out = await reserveOrAnswerFromCache(request, {
    store,
    catalog,
    now: () => now,
    sleep: async () => undefined,
  });
  if ('cacheHit' in out) {
    const { response, record } = await answerFromCache(out, settleDeps);
    return { hit: true, body: response as InvokeResponse, costPico: record.costPico ?? 0n };
  }
  const invocation = {
    output: { role: 'assistant' as const, content: [{ text: 'x'.repeat(a.answerChars ?? 12) }] },
    stopReason: a.stopReason ?? 'end_turn',
    usage: USAGE,
    latencyMs: 13,
  };
  const { response, record } = await settleUsage({ ...out, invocation }, settleDeps);
  return { hit: false, body: response as InvokeResponse, costPico: record.costPico ?? 0n };
}

describe('the response cache, through ReserveBudget and SettleUsage', () => {
  it.each(cases)('$name', async (c) => {
    const store = storeWith(c.budgets);

    const first = await ask(store, c.first, 'req-1');
    const storedByFirst = store.cached.size;
    const second = await ask(store, c.second, 'req-2');

    expect(first.hit).toBe(false);
    expect(storedByFirst).toBe(c.expect.stored);
    expect(second.hit).toBe(c.expect.hit);
    // The exact money: what the cost center spent is the sum of what each answer charged.
    const costCenter = c.second.costCenter ?? 'support';
    const counter = keys.costCenterCounter(costCenter, periodKey('monthly', new Date(RECEIVED_AT)));
    const charged = (costCenter === 'support' ? first.costPico : 0n) + second.costPico;
    expect(store.figures(counter).spentPico).toBe(charged);
    expect(store.figures(counter).reservedPico).toBe(0n);
    if (c.expect.hit) {
      expect(second.costPico).toBe(0n);
      expect(second.body.cost.usd).toBe(0);
      expect(second.body.cache).toEqual({ hit: true, savedUsd: picoToUsd(first.costPico) });
      expect(second.body.output).toEqual(first.body.output);
      expect(store.usage.filter((u) => u.cacheHits === 1)).toEqual([
        expect.objectContaining({ requests: 1, costPico: 0n, savedPico: first.costPico }),
      ]);
    } else {
      expect(second.body.cache).toBeUndefined();
      expect(second.costPico).toBeGreaterThan(0n);
    }
  });

  it('prices a hit at what the call cost: 61 input and 100 output tokens of nova-lite', async () => {
    const store = storeWith([
      { costCenter: 'support', period: 'monthly', limitPico: '1000000000000', cache: { ttlSeconds: 60 } },
    ]);

    const first = await ask(store, { temperature: 0 }, 'req-1');
    const hit = await ask(store, { temperature: 0 }, 'req-2');

    expect(first.costPico).toBe(27_660_000n);
    expect(hit.body.cache).toEqual({ hit: true, savedUsd: 0.00002766 });
  });

  it('fails the request when the cache lookup fails, as every store failure does', async () => {
    const store = storeWith([
      { costCenter: 'support', period: 'monthly', limitPico: '1000000000000', cache: { ttlSeconds: 60 } },
    ]).failOn('getCachedAnswer');

    await expect(ask(store, { temperature: 0 }, 'req-1')).rejects.toThrow('store failure');
  });
});
