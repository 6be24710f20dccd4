import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import { periodKey } from '../../lambdas/shared/rules/period.ts';
import { readCounter, shardKeys } from '../../lambdas/shared/rules/sharded-counter.ts';
import { shareOf } from '../../lambdas/shared/rules/shards.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { budgetForWorstCases, errorOf, execute, startTestRuntime } from '../helpers/local-runtime.ts';
import { idOnShard, lowerSettled } from '../helpers/sharded.ts';

let runtime: LocalRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(() => runtime?.close());

const SHARDS = 4;

/** A request whose answer uses its whole max_tokens: it costs exactly its worst case. */
const bodyFor = (costCenter: string) =>
  invokeBody({
    costCenter,
    model: 'claude-sonnet',
    content: 'Summarise the ledger. [[sim:output_tokens=200]]',
    maxTokens: 200,
  });

/** The budget of `costCenter`, for 50 worst cases, split into `shards` counters. */
async function shardedBudget(costCenter: string, shards: number) {
  const body = bodyFor(costCenter);
  const limitPico = await budgetForWorstCases(runtime, body, 50n);
  const budget = {
    costCenter,
    period: 'monthly' as const,
    limitPico,
    alertThresholds: [0.5],
    shards,
  };
  await runtime.store.putBudget(budget);
  return { body, budget, worstCase: limitPico / 50n };
}

describe('a sharded counter under 200 concurrent executions', () => {
  it('never spends past the limit or any shard past its share, and leaves at most N worst cases unused', async () => {
    const { body, budget, worstCase } = await shardedBudget('hot', SHARDS);

    const results = await Promise.all(Array.from({ length: 200 }, () => execute(runtime, body)));

    const succeeded = results.filter((r) => r.status === 'SUCCEEDED');
    const refused = results.filter((r) => r.status === 'FAILED');
    expect(refused.map((r) => errorOf(r).code)).toEqual(refused.map(() => 'BUDGET_EXCEEDED'));
    expect(refused.length).toBeGreaterThan(0);

    const month = periodKey('monthly', new Date());
    const { figures, shards } = await readCounter(runtime.store, budget, month);
    expect(shards).toHaveLength(SHARDS);
    // The hard cap, on the sum and on every shard's share.
    expect(figures.spentPico).toBeLessThanOrEqual(budget.limitPico);
    expect(figures.reservedPico).toBe(0n);
    shards.forEach((shard, index) => {
      expect(shard.shards).toBe(SHARDS);
      expect(shard.spentPico).toBeLessThanOrEqual(shareOf(budget, index, SHARDS).limitPico ?? 0n);
    });
    // The documented usable share: a request is refused as spent only when no shard has its
    // worst case left, so at most SHARDS worst cases of the limit go unused.
    expect(figures.spentPico).toBeGreaterThanOrEqual(budget.limitPico - BigInt(SHARDS) * worstCase);
    // Every shard took requests: the candidates spread them.
    for (const shard of shards) expect(shard.spentPico).toBeGreaterThan(0n);

    // Reads, reports and alerts sum the shards.
    const reported = succeeded.reduce((sum, r) => sum + usdToPico(JSON.parse(r.output ?? '{}').cost.usd), 0n);
    expect(figures.spentPico).toBe(reported);
    const usage = await runtime.store.queryUsage('hot', month);
    expect(usage.reduce((sum, u) => sum + u.costPico, 0n)).toBe(reported);
    expect(usage.reduce((sum, u) => sum + u.requests, 0)).toBe(succeeded.length);
    expect(figures.alerted).toEqual([0.5]);
    // Answers show the budget, the shards summed: the last ones show more than any one share.
    const shown = succeeded.map((r) => usdToPico(JSON.parse(r.output ?? '{}').budget.spentUsd));
    const largest = shown.reduce((a, b) => (a > b ? a : b), 0n);
    expect(largest).toBeGreaterThan(shareOf(budget, 0, SHARDS).limitPico ?? 0n);
    expect(largest).toBeLessThanOrEqual(figures.spentPico);
  });

  it('keeps the period on the shard count its first write pinned when the budget changes it', async () => {
    const { body, budget } = await shardedBudget('resharded', 2);
    const month = periodKey('monthly', new Date());
    expect((await execute(runtime, body)).status).toBe('SUCCEEDED');

    // Raised mid-period: two new shards would each hold a quarter the first two also hold.
    await runtime.store.putBudget({ ...budget, shards: 8 });
    const results = await Promise.all(Array.from({ length: 120 }, () => execute(runtime, body)));
    expect(results.filter((r) => r.status === 'SUCCEEDED').length).toBeGreaterThan(0);
    const refused = results.filter((r) => r.status === 'FAILED');
    expect(refused.map((r) => errorOf(r).code)).toEqual(refused.map(() => 'BUDGET_EXCEEDED'));

    const { figures, shards } = await readCounter(runtime.store, budget, month);
    expect(shards).toHaveLength(2);
    expect(figures.spentPico).toBeLessThanOrEqual(budget.limitPico);
    const unused = await runtime.store.getCounters(shardKeys(budget, month, 8).slice(2));
    for (const shard of unused) expect(shard.allocatedPico).toBe(0n);
  });

  it('keeps the shards within a limit lowered mid-period, under 100 concurrent executions', async () => {
    const { body, budget, worstCase } = await shardedBudget('lowered', SHARDS);
    const month = periodKey('monthly', new Date());
    // Ten requests whose IDs pick the first shard: it holds 10 worst cases, the others none.
    const onFirstShard = () => idOnShard(0, SHARDS);
    for (let i = 0; i < 10; i++) {
      const run = { requestId: onFirstShard(), receivedAt: Date.now(), body: JSON.stringify(body) };
      expect((await runtime.workflow.run(run)).status).toBe('SUCCEEDED');
    }

    // Lowered to 16: shares of 4 would let the three empty shards take 12 more, 22 in all.
    const lowered = { ...budget, limitPico: worstCase * 16n };
    await lowerSettled(runtime.store, budget, lowered.limitPico, Date.now());
    const results = await Promise.all(Array.from({ length: 100 }, () => execute(runtime, body)));

    const refused = results.filter((r) => r.status === 'FAILED');
    expect(refused.map((r) => errorOf(r).code)).toEqual(refused.map(() => 'BUDGET_EXCEEDED'));
    const { figures } = await readCounter(runtime.store, lowered, month);
    expect(figures.spentPico).toBeLessThanOrEqual(lowered.limitPico);
    // Requests still go through after the lowering, up to the new limit (some are refused as held
    // while the others are in flight).
    expect(figures.spentPico).toBeGreaterThan(worstCase * 10n);
  });
});
