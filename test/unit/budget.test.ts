import { describe, expect, it } from 'vitest';
import {
  type BudgetDefinition,
  type CounterFigures,
  thresholdsToAlert,
  utilization,
  ZERO_FIGURES,
} from '../../lambdas/shared/rules/budget.ts';
import { budgetView, forecast } from '../../lambdas/shared/rules/budget-views.ts';
import { picoToUsd, usdToPico } from '../../lambdas/shared/rules/money.ts';

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

describe('utilization', () => {
  it.each([
    [0, 0],
    [150, 0.5],
    [300, 1],
  ])('is %s of $300 spent -> %s', (usd, share) => {
    expect(utilization(monthly, spent(usd))).toBe(share);
  });

  it('takes the larger of the USD and token shares', () => {
    const both = { ...monthly, limitTokens: 1000 };
    expect(utilization(both, spent(30, { spentTokens: 900 }))).toBe(0.9);
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

describe('budgetView money', () => {
  const AT = new Date('2026-11-23T10:00:00Z');
  const billion: BudgetDefinition = { ...monthly, limitPico: usdToPico(1e9) };
  const onePico: CounterFigures = { ...ZERO_FIGURES, spentPico: 1n, allocatedPico: 1n };

  it('gives every USD figure as an exact decimal string beside the number', () => {
    const view = budgetView(billion, '2026-11', onePico, AT);
    expect(view).toMatchObject({
      limitUsd: 1e9,
      limitUsdDecimal: '1000000000',
      spentUsd: 1e-12,
      spentUsdDecimal: '0.000000000001',
      reservedUsd: 0,
      reservedUsdDecimal: '0',
      remainingUsdDecimal: '999999999.999999999999',
    });
    // The JSON number cannot hold that many digits: the string is the exact figure.
    expect(view.remainingUsd).toBe(1e9);
  });

  it.each([
    ['below $1,000, to the pico-dollar', 999_999_999_999_999n, 1n],
    ['up to the $1e9 limit, to the micro-dollar', 1_000_000_000_000_000_000_000n, 1_000_000n],
  ])('numbers are exact %s', (_range, maxPico, stepPico) => {
    // Every amount with at most 15 significant digits survives the double.
    let seed = 12_345n;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 6_364_136_223_846_793_005n + 1_442_695_040_888_963_407n) % 2n ** 64n;
      const pico = ((seed % (maxPico / stepPico)) + 1n) * stepPico;
      expect(usdToPico(picoToUsd(pico))).toBe(pico);
    }
  });
});
