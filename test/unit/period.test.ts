import { describe, expect, it } from 'vitest';
import {
  isoSeconds,
  periodEnd,
  periodKey,
  periodStart,
  secondsUntilReset,
} from '../../lambdas/shared/rules/period.ts';

const at = (iso: string) => new Date(iso);

describe('periodKey', () => {
  it.each([
    ['monthly', '2026-11-23T12:00:00Z', '2026-11'],
    ['monthly', '2026-12-31T23:59:59.999Z', '2026-12'],
    ['monthly', '2027-01-01T00:00:00Z', '2027-01'],
    ['daily', '2026-11-23T00:00:00Z', '2026-11-23'],
    ['daily', '2028-02-29T23:59:59Z', '2028-02-29'],
  ] as const)('%s at %s is %s', (period, when, key) => {
    expect(periodKey(period, at(when))).toBe(key);
  });
});

describe('period bounds', () => {
  it.each([
    ['monthly', '2026-11-23T12:00:00Z', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'],
    ['monthly', '2026-12-15T00:00:00Z', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['monthly', '2028-02-10T00:00:00Z', '2028-02-01T00:00:00Z', '2028-03-01T00:00:00Z'],
    ['daily', '2028-02-28T10:00:00Z', '2028-02-28T00:00:00Z', '2028-02-29T00:00:00Z'],
    ['daily', '2026-12-31T23:00:00Z', '2026-12-31T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['daily', '2027-02-28T12:00:00Z', '2027-02-28T00:00:00Z', '2027-03-01T00:00:00Z'],
    ['daily', '2028-02-29T12:00:00Z', '2028-02-29T00:00:00Z', '2028-03-01T00:00:00Z'],
    ['monthly', '2027-02-14T00:00:00Z', '2027-02-01T00:00:00Z', '2027-03-01T00:00:00Z'],
    ['monthly', '2100-02-28T00:00:00Z', '2100-02-01T00:00:00Z', '2100-03-01T00:00:00Z'],
  ] as const)('%s at %s runs from %s to %s', (period, when, start, end) => {
    expect(isoSeconds(periodStart(period, at(when)))).toBe(start.replace('.000', ''));
    expect(isoSeconds(periodEnd(period, at(when)))).toBe(end);
  });

  it('counts whole seconds to the reset, at least one', () => {
    expect(secondsUntilReset('daily', at('2026-11-23T23:59:30Z'))).toBe(30);
    expect(secondsUntilReset('daily', at('2026-11-23T23:59:59.900Z'))).toBe(1);
    expect(secondsUntilReset('monthly', at('2026-11-30T00:00:00Z'))).toBe(86_400);
  });
});
