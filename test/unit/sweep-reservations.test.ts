import { describe, expect, it } from 'vitest';
import { scopeOf } from '../../lambdas/shared/rules/settlement.ts';
import { sweepReservations } from '../../lambdas/sweep-reservations/core.ts';
import { loadFixture, storeWith } from '../helpers/core-fixtures.ts';

interface SweepCase {
  name: string;
  holds: Array<{ requestId: string; secondsAgo: number; application?: boolean }>;
  /** The cost center's counter is on the open index but holds nothing. */
  idle?: boolean;
  failSettle?: boolean;
  expect: {
    found: number;
    closed: number;
    failed?: number;
    chargedPico: string;
    forgotten: number;
    /** Request IDs metered, once each. */
    records: string[];
    /** Usage aggregates written. */
    usage: number;
    /** Request IDs still holding the cost center's counter. */
    held: string[];
    spentPico: string;
    open?: boolean;
  };
}

const { now, cases } = loadFixture<{ now: string; cases: SweepCase[] }>('sweep-reservations.json');
const NOW = new Date(now);
const amount = { pico: 27_660_000n, tokens: 161 };
const detail = {
  applicationId: 'docs-helper',
  environment: 'production',
  modelId: 'amazon.nova-lite-v1:0',
  outputTokens: 100,
};

describe('sweepReservations', () => {
  it.each(cases)('$name', async (c) => {
    const store = storeWith([
      { costCenter: 'support', period: 'monthly', limitPico: '500000000000000', alertThresholds: [0.8] },
      {
        costCenter: 'support',
        applicationId: 'docs-helper',
        period: 'monthly',
        limitPico: '500000000000000',
      },
    ]);
    const [costCenter, application] = [...store.budgets.values()].map((b) => scopeOf(b, NOW));
    if (!costCenter || !application) throw new Error('two budgets');
    for (const hold of c.holds) {
      const heldSince = new Date(NOW.getTime() - hold.secondsAgo * 1000);
      store.hold(costCenter, hold.requestId, amount, heldSince, detail);
      if (hold.application) store.hold(application, hold.requestId, amount, heldSince, detail);
    }
    if (c.idle) {
      store.hold(costCenter, 'gone', amount, NOW);
      await store.release(costCenter, 'gone');
    }
    if (c.failSettle) store.failOn('settle');
    const errors: string[] = [];

    const result = await sweepReservations({ store, now: () => NOW, onError: (what) => errors.push(what) });

    expect(result).toMatchObject({
      found: c.expect.found,
      closed: c.expect.closed,
      failed: c.expect.failed ?? 0,
      chargedPico: BigInt(c.expect.chargedPico),
      forgotten: c.expect.forgotten,
    });
    expect(result.records.map((r) => r.requestId)).toEqual(c.expect.records);
    for (const record of result.records) {
      expect(record).toMatchObject({
        decision: 'failed',
        costPico: amount.pico,
        tags: { costCenter: 'support' },
      });
      expect(record.usage).toMatchObject({ inputTokens: 61, outputTokens: 100, totalTokens: 161 });
    }
    expect(store.usage).toHaveLength(c.expect.usage);
    expect(store.holders(costCenter)).toEqual(c.expect.held);
    expect(store.figures(costCenter).spentPico).toBe(BigInt(c.expect.spentPico));
    if (c.expect.open !== undefined) expect(store.isOpen(costCenter)).toBe(c.expect.open);
    expect(errors).toEqual([]);
  });

  it('claims an alert threshold a swept charge crossed, once', async () => {
    const store = storeWith([
      { costCenter: 'support', period: 'monthly', limitPico: '30000000', alertThresholds: [0.8] },
    ]);
    const [costCenter] = [...store.budgets.values()].map((b) => scopeOf(b, NOW));
    if (!costCenter) throw new Error('one budget');
    store.hold(costCenter, 'stale', amount, new Date(NOW.getTime() - 300_000), detail);

    const first = await sweepReservations({ store, now: () => NOW });
    const second = await sweepReservations({ store, now: () => NOW });

    expect(first.alerts.map((a) => a.threshold)).toEqual([0.8]);
    expect(first.records[0]?.budgetUtilization).toBeCloseTo(0.922, 3);
    expect(second).toMatchObject({ found: 0, closed: 0, alerts: [] });
  });
});
