import { describe, expect, it } from 'vitest';
import { costOfTokens, formatUsd, picoToUsd, usdToPico } from '../../lambdas/shared/rules/money.ts';

describe('usdToPico', () => {
  it.each([
    [0.000035, 35_000_000n],
    [0.00014, 140_000_000n],
    ['0.0000103', 10_300_000n],
    [500, 500_000_000_000_000n],
    [3.5e-7, 350_000n],
    [1e-12, 1n],
    ['12345678.000000000001', 12_345_678_000_000_000_001n],
  ])('parses %s exactly', (usd, pico) => {
    expect(usdToPico(usd)).toBe(pico);
  });

  it('refuses amounts finer than a pico-USD', () => {
    expect(() => usdToPico('0.0000000000001')).toThrow(/finer than one pico-USD/);
  });

  it('refuses text that is not a decimal', () => {
    expect(() => usdToPico('1,5')).toThrow(/not a decimal/);
  });
});

describe('formatUsd and picoToUsd', () => {
  it.each([
    [10_300_000n, '0.0000103'],
    [500_000_000_000_000n, '500'],
    [0n, '0'],
    [-1n, '-0.000000000001'],
  ])('formats %s pico-USD as %s', (pico, text) => {
    expect(formatUsd(pico)).toBe(text);
    expect(picoToUsd(pico)).toBe(Number(text));
  });

  it('round-trips through the JSON number', () => {
    for (const pico of [1n, 7_920_000n, 123_456_789_012n, 987_654_321_000_000n]) {
      expect(usdToPico(picoToUsd(pico))).toBe(pico);
    }
  });
});

describe('costOfTokens', () => {
  it.each([
    [1000, 60_000_000n, 60_000_000n],
    [1, 60_000_000n, 60_000n],
    [3, 1_001n, 4n],
    [0, 75_000_000_000n, 0n],
  ])('%i tokens at %s pico/1K cost %s pico (rounded up)', (tokens, price, cost) => {
    expect(costOfTokens(tokens, price)).toBe(cost);
  });
});
