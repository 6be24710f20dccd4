import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BudgetDefinition } from '../../lambdas/shared/rules/budget.ts';
import { figuresOf, markerOf } from '../../lambdas/shared/rules/budget-items.ts';
import {
  firstShardOf,
  MARKER_BYTES,
  MARKERS_PER_SHARD,
  MAX_SHARDS,
  shardsFor,
  shareOf,
  sumFigures,
  USAGE_SHARDS,
  usageShardOf,
} from '../../lambdas/shared/rules/shards.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import { itemBytes } from '../../scripts/item-size.ts';

const budget = (limitPico: bigint, limitTokens?: number): BudgetDefinition => ({
  costCenter: 'hot',
  period: 'monthly',
  limitPico,
  limitTokens,
  alertThresholds: [],
});

describe('shard shares', () => {
  it.each([
    [1_000_000n, 4],
    [1_000_003n, 4],
    [7n, 3],
    [99_999_999_999_999n, 77],
  ])('split %s pico over %i shards into shares that sum to it exactly', (limit, count) => {
    const shares = Array.from({ length: count }, (_, i) => shareOf(budget(limit, 1001), i, count));
    expect(shares.reduce((sum, s) => sum + (s.limitPico ?? 0n), 0n)).toBe(limit);
    expect(shares.reduce((sum, s) => sum + (s.limitTokens ?? 0), 0)).toBe(1001);
    const picos = shares.map((s) => s.limitPico ?? 0n);
    const spread = picos.reduce((a, b) => (a > b ? a : b)) - picos.reduce((a, b) => (a < b ? a : b));
    expect(spread <= 1n).toBe(true);
  });

  it('leaves an unsharded budget as it is', () => {
    expect(shareOf(budget(5n), 0, 1)).toEqual(budget(5n));
  });
});

describe('the shard a request tries first', () => {
  it('is in range, the same for the same request, and spreads requests over all shards', () => {
    const hits = new Array<number>(8).fill(0);
    for (let i = 0; i < 4000; i++) {
      const id = randomUUID();
      const shard = firstShardOf(id, 8);
      expect(firstShardOf(id, 8)).toBe(shard);
      expect(shard).toBeGreaterThanOrEqual(0);
      expect(shard).toBeLessThan(8);
      hits[shard] = (hits[shard] ?? 0) + 1;
    }
    for (const count of hits) expect(count).toBeGreaterThan(350);
    expect(firstShardOf('x', 1)).toBe(0);
  });

  it('put usage writes in one of the usage partitions', () => {
    const seen = new Set(Array.from({ length: 500 }, () => usageShardOf(randomUUID())));
    expect([...seen].sort()).toEqual(Array.from({ length: USAGE_SHARDS }, (_, i) => i));
  });
});

describe('the shard count', () => {
  it('keeps the markers of the requests in flight under 4 KB a shard, and is one without a rate', () => {
    expect(shardsFor(undefined)).toBe(1);
    expect(shardsFor(5)).toBe(1);
    expect(shardsFor(1_000)).toBe(Math.ceil(2_000 / MARKERS_PER_SHARD));
    expect(shardsFor(1_000_000)).toBe(MAX_SHARDS);
  });

  it('sizes markers from a real one with long tags and a long model ID', () => {
    const marker = markerOf({ pico: 123_456_789_012n, tokens: 12_345 }, new Date(), {
      applicationId: 'a'.repeat(32),
      environment: 'e'.repeat(16),
      modelId: 'global.anthropic.claude-sonnet-4-6',
      outputTokens: 4096,
    });
    expect(itemBytes({ [`r#${randomUUID()}`]: { M: marker } })).toBeLessThanOrEqual(MARKER_BYTES);
  });
});

describe('shard keys and figures', () => {
  it('give each shard but the first its own partition, and read the shard back from a key', () => {
    const first = keys.counter({ costCenter: 'hot' }, '2026-12');
    const third = keys.counter({ costCenter: 'hot', applicationId: 'app' }, '2026-12', 2);
    expect(first).toEqual({ pk: 'CC#hot', sk: 'PERIOD#2026-12' });
    expect(third).toEqual({ pk: 'CC#hot#S2', sk: 'APP#app#PERIOD#2026-12' });
    expect(keys.scopeOfCounter(third)).toEqual({
      costCenter: 'hot',
      applicationId: 'app',
      periodKey: '2026-12',
      shard: 2,
    });
    expect(keys.scopeOfCounter(first)?.shard).toBe(0);
  });

  it('sum every figure and keep the alerts the first shard claimed', () => {
    const home = { ...figuresOf({ spentPico: { N: '5' }, allocatedPico: { N: '7' }, 'a#0.5': { N: '1' } }) };
    const other = figuresOf({ spentPico: { N: '3' }, allocatedPico: { N: '3' }, spentTokens: { N: '2' } });
    expect(sumFigures([home, other])).toMatchObject({
      spentPico: 8n,
      allocatedPico: 10n,
      spentTokens: 2,
      alerted: [0.5],
    });
  });
});
