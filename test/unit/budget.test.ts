import { describe, expect, it } from 'vitest';
import {
  type BudgetDefinition,
  type CounterFigures,
  forecast,
  thresholdsToAlert,
  utilisation,
  ZERO_FIGURES,
} from '../../lambdas/shared/budget.ts';
import { usdToPico } from '../../lambdas/shared/money.ts';

const monthly: BudgetDefinition = {
  costCenter: 'support',
  period: 'monthly',
  limitPico: usdToPico(300),
  alertThresholds: [0.5, 0.8, 1],
};
const spent = (usd: number, extra: Partial<CounterFigures> = {}): CounterFigures => ({
  ...ZERO_FIGURES,
  spentPico: usdToPico(usd),
  allocatedPico: usdToPico(usd),
  ...extra,
});

describe('utilisation', () => {
  it.each([
    [0, 0],
    [150, 0.5],
    [300, 1],
  ])('is %s of $300 spent -> %s', (usd, share) => {
    expect(utilisation(monthly, spent(usd))).toBe(share);
  });

  it('takes the larger of the USD and token shares', () => {
    const both = { ...monthly, limitTokens: 1000 };
    expect(utilisation(both, spent(30, { spentTokens: 900 }))).toBe(0.9);
  });
});

describe('thresholdsToAlert', () => {
  it('lists the crossed thresholds not yet alerted this period', () => {
    expect(thresholdsToAlert(monthly, spent(250, { alerted: [0.5] }))).toEqual([0.8]);
    expect(thresholdsToAlert(monthly, spent(100))).toEqual([]);
    expect(thresholdsToAlert(monthly, spent(300))).toEqual([0.5, 0.8, 1]);
  });
});

describe('forecast', () => {
  it('projects the month from the burn rate so far', () => {
    // $100 in the first 10 days of a 30-day month: $10 a day, $300 by the end, out on the 30th at 00:00.
    const result = forecast(monthly, spent(100), new Date('2026-11-11T00:00:00Z'));
    expect(result).toEqual({
      burnRateUsdPerDay: 10,
      projectedSpendUsd: 300,
      projectedRunOutAt: null,
    });
  });

  it('gives the run-out date when the rate exhausts the budget before the period ends', () => {
    // $150 in 10 days: $15 a day; the remaining $150 lasts 10 more days.
    const result = forecast(monthly, spent(150), new Date('2026-11-11T00:00:00Z'));
    expect(result).toEqual({
      burnRateUsdPerDay: 15,
      projectedSpendUsd: 450,
      projectedRunOutAt: '2026-11-21T00:00:00Z',
    });
  });

  it('forecasts a daily budget by the hour', () => {
    const daily = { ...monthly, period: 'daily' as const, limitPico: usdToPico(10) };
    const result = forecast(daily, spent(5), new Date('2026-11-23T06:00:00Z'));
    expect(result).toEqual({
      burnRateUsdPerDay: 20,
      projectedSpendUsd: 20,
      projectedRunOutAt: '2026-11-23T12:00:00Z',
    });
  });

  it('has no run-out date without spending or without a USD limit', () => {
    expect(forecast(monthly, spent(0), new Date('2026-11-11T00:00:00Z')).projectedRunOutAt).toBeNull();
    const tokensOnly = { ...monthly, limitPico: undefined, limitTokens: 100 };
    expect(forecast(tokensOnly, spent(1), new Date('2026-11-11T00:00:00Z')).projectedRunOutAt).toBeNull();
  });

  it('does not explode in the first seconds of a period', () => {
    const result = forecast(monthly, spent(0.01), new Date('2026-11-01T00:00:01Z'));
    expect(Number.isFinite(result.burnRateUsdPerDay)).toBe(true);
    expect(result.burnRateUsdPerDay).toBeLessThanOrEqual(0.01 * 1440);
  });
});
