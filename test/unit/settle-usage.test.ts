import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type InvokeResponse, settleUsage } from '../../lambdas/settle-usage/core.ts';
import type { Usage } from '../../lambdas/shared/rules/pricing.ts';
import { usageShardOf } from '../../lambdas/shared/rules/shards.ts';
import {
  type BudgetFixture,
  catalog,
  loadFixture,
  RECEIVED_AT,
  reserveIn,
  storeWith,
  validatedRequest,
} from '../helpers/core-fixtures.ts';
import type { MemoryBudgetStore } from '../helpers/memory-budget-store.ts';

interface SettleCase {
  name: string;
  model?: string;
  /** The estimate the request reserved, in pico-USD (default 27,660,000). */
  reservedPico?: string;
  budgets: BudgetFixture[];
  usage: { inputTokens: number; outputTokens: number };
  expect: {
    costUsd: number;
    costPico: string;
    budget: Record<string, unknown>;
    applicationBudget?: Record<string, unknown>;
    warnings?: string[];
    utilization?: number;
    alerts: number[];
  };
}

const { cases } = loadFixture<{ cases: SettleCase[] }>('settle-usage.json');

const usageOf = (u: SettleCase['usage']): Usage => ({
  ...u,
  totalTokens: u.inputTokens + u.outputTokens,
  cacheReadInputTokens: 0,
  cacheWriteInputTokens: 0,
});

/** A request that reserved its estimate and that Bedrock answered with this usage. */
function answered(store: MemoryBudgetStore, usage: Usage, model?: string, reservedPico?: string) {
  const request = validatedRequest({ model, costPico: reservedPico });
  const reservation = reserveIn(store, request);
  const invocation = {
    output: { role: 'assistant' as const, content: [{ text: 'sim' }] },
    stopReason: 'end_turn',
    usage,
    latencyMs: 13,
  };
  return { ...request, reservation, invocation };
}

const depsOf = (store: MemoryBudgetStore, errors: unknown[] = []) => ({
  store,
  catalog,
  now: () => RECEIVED_AT + 61,
  onError: (what: string) => errors.push(what),
});

describe('settleUsage', () => {
  it.each(cases)('$name', async (c) => {
    const store = storeWith(c.budgets);
    const state = answered(store, usageOf(c.usage), c.model, c.reservedPico);
    const errors: unknown[] = [];

    const result = await settleUsage(state, depsOf(store, errors));

    expect(result.settled).toBe(true);
    expect((result.response as InvokeResponse).cost).toEqual({
      usd: c.expect.costUsd,
      priceVersion: '2026-12-01',
    });
    expect((result.response as InvokeResponse).budget).toMatchObject(c.expect.budget);
    if (c.expect.applicationBudget) {
      expect((result.response as InvokeResponse).applicationBudget).toMatchObject(c.expect.applicationBudget);
    } else {
      expect((result.response as InvokeResponse).applicationBudget).toBeUndefined();
    }
    expect((result.response as InvokeResponse).warnings).toEqual(c.expect.warnings);
    expect((result.response as InvokeResponse).latencyMs).toEqual({ model: 13, total: 61 });
    expect(result.record).toMatchObject({ decision: 'allowed', costPico: BigInt(c.expect.costPico) });
    if (c.expect.utilization !== undefined) {
      expect(result.record.budgetUtilization).toBeCloseTo(c.expect.utilization, 5);
    }
    expect(result.alerts.map((a) => a.threshold)).toEqual(c.expect.alerts);
    expect(store.usage).toHaveLength(1);
    expect(store.usage[0]?.costPico).toBe(BigInt(c.expect.costPico));
    for (const scope of state.reservation.scopes) expect(store.holders(scope)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('settles nothing more when the same request is settled again', async () => {
    const store = storeWith([
      { costCenter: 'support', period: 'monthly', limitPico: '9000000', alertThresholds: [0.5] },
    ]);
    const state = answered(store, usageOf({ inputTokens: 2, outputTokens: 32 }));
    const first = await settleUsage(state, depsOf(store));

    const again = await settleUsage(state, depsOf(store));

    expect(again.settled).toBe(false);
    expect(again.alerts).toEqual([]);
    expect((again.response as InvokeResponse).budget).toEqual((first.response as InvokeResponse).budget);
    expect(store.figures(state.reservation.scopes[0] ?? { pk: '', sk: '' }).spentPico).toBe(7_800_000n);
    expect(store.usage).toHaveLength(1);
  });

  it('reports usage above its reservation, and still charges what was used', async () => {
    const store = storeWith([{ costCenter: 'support', period: 'monthly', limitPico: '500000000000000' }]);
    const state = answered(store, usageOf({ inputTokens: 1000, outputTokens: 1000 }));
    const errors: unknown[] = [];

    const result = await settleUsage(state, depsOf(store, errors));

    expect(errors).toEqual(['usage above its reservation']);
    expect(result.record.costPico).toBe(300_000_000n);
  });

  describe('counts a large system prompt for the advisor, by hash, never its text', () => {
    const LONG = 'Answer as the support desk would. '.repeat(150);
    const withSystem = (
      store: MemoryBudgetStore,
      system: Array<{ text: string } | { cachePoint: { type: 'default' } }>,
    ) => {
      const state = answered(store, usageOf({ inputTokens: 2, outputTokens: 10 }));
      return { ...state, prompt: { ...state.prompt, system } };
    };
    const budgets = [{ costCenter: 'support', period: 'monthly' as const, limitPico: '500000000000000' }];

    it('once per settled request, with its hash and its size in tokens', async () => {
      const store = storeWith(budgets);
      const state = withSystem(store, [{ text: LONG }]);

      await settleUsage(state, depsOf(store));
      await settleUsage(state, depsOf(store));

      expect(store.systemPrompts).toEqual([
        {
          day: new Date(RECEIVED_AT).toISOString().slice(0, 10),
          costCenter: 'support',
          applicationId: state.tags.applicationId,
          modelId: state.model.modelId,
          systemHash: createHash('sha256').update(LONG).digest('hex'),
          systemTokens: Math.ceil(LONG.length / 4),
          requests: 1,
          shard: usageShardOf(state.requestId),
        },
      ]);
      expect(JSON.stringify(store.systemPrompts)).not.toContain('support desk');
    });

    it.each([
      [
        'a prompt already followed by a cachePoint',
        [{ text: LONG }, { cachePoint: { type: 'default' as const } }],
      ],
      ['a prompt under 1,024 tokens', [{ text: 'Be brief. '.repeat(400) }]],
    ])('not %s', async (_name, system) => {
      const store = storeWith(budgets);
      await settleUsage(withSystem(store, system), depsOf(store));
      expect(store.systemPrompts).toEqual([]);
    });

    it('reports a store failure and still answers', async () => {
      const store = storeWith(budgets).failOn('addSystemPromptUse');
      const errors: unknown[] = [];
      const result = await settleUsage(withSystem(store, [{ text: LONG }]), depsOf(store, errors));
      expect(errors).toEqual(['system prompt use not recorded']);
      expect(result.settled).toBe(true);
    });
  });
});
