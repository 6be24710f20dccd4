import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import {
  budgetForWorstCases,
  counters,
  errorOf,
  execute,
  startTestRuntime,
} from '../helpers/local-runtime.ts';

let runtime: LocalRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(() => runtime?.close());

describe('the hard cap', () => {
  it('never spends past the limit with 200 concurrent executions against a budget for about 50', async () => {
    // Every request reserves the same worst case; the budget holds 50 of them.
    const body = invokeBody({
      costCenter: 'capped',
      model: 'claude-sonnet',
      // Each uses its whole max_tokens, so the budget runs out and later requests are refused.
      content: 'Summarise the ledger. [[sim:output_tokens=200]]',
      maxTokens: 200,
    });
    const limitPico = await budgetForWorstCases(runtime, body, 50n);

    const results = await Promise.all(Array.from({ length: 200 }, () => execute(runtime, body)));

    const succeeded = results.filter((r) => r.status === 'SUCCEEDED');
    const refused = results.filter((r) => r.status === 'FAILED');
    expect(refused.map((r) => errorOf(r).code)).toEqual(refused.map(() => 'BUDGET_EXCEEDED'));
    expect(succeeded.length).toBeGreaterThanOrEqual(50);
    expect(refused.length).toBeGreaterThan(0);

    const final = await counters(runtime, 'capped');
    expect(final.spentPico).toBeLessThanOrEqual(limitPico);
    expect(final.reservedPico).toBe(0n);
    expect(final.allocatedPico).toBe(final.spentPico);
    // Spent is exactly the sum of the costs the responses reported.
    const reported = succeeded.reduce((sum, r) => sum + usdToPico(JSON.parse(r.output ?? '{}').cost.usd), 0n);
    expect(final.spentPico).toBe(reported);
  });
});
