import { describe, expect, it } from 'vitest';
import {
  type AdviceRow,
  type AdviceSettings,
  advise,
  outputShareTenth,
  p95Share,
} from '../../lambdas/shared/rules/advice.ts';
import { exampleCatalog } from '../helpers/fixtures.ts';

const catalog = exampleCatalog();
const settings: AdviceSettings = {
  asOf: '2026-12-01',
  cheaperTier: { 'nova-pro': 'nova-lite', 'nova-lite': 'nova-micro', 'claude-sonnet': 'claude-haiku' },
  shortOutputTokens: 200,
  batchMinRequestsPerDay: 1000,
  batchDiscount: 0.5,
  cacheMinRepeats: 10,
  cacheMinTokens: { 'global.anthropic.claude-sonnet-4-6': 1024 },
  maxTokensShare: 0.25,
  provisioned: { 'amazon.nova-micro-v1:0': { unitHourUsd: 1, tokensPerMinute: 1_000_000 } },
};
const at = new Date('2026-12-15T00:00:00Z');

const row = (over: Partial<AdviceRow>): AdviceRow => ({
  day: '2026-12-01',
  costCenter: 'support',
  applicationId: 'bot',
  environment: 'production',
  modelId: 'amazon.nova-pro-v1:0',
  requests: 100,
  inputTokens: 10_000,
  outputTokens: 5_000,
  cacheReadInputTokens: 0,
  cacheWriteInputTokens: 0,
  costPico: 24_000_000_000n,
  ...over,
});

describe('the advisor on a crafted history', () => {
  it('recommends a cheaper tier for short answers, with the exact monthly saving', () => {
    // Nova Pro: 10,000 in at $0.0008/1K + 5,000 out at $0.0032/1K = $0.024; Nova Lite: $0.0018.
    const [advice] = advise(catalog, settings, [row({})], [], at);
    expect(advice).toMatchObject({
      kind: 'cheaper-tier',
      modelId: 'amazon.nova-pro-v1:0',
      monthlySavingUsd: 0.666,
    });
    expect(advice?.action).toContain('nova-lite');
  });

  it('recommends batch for high-volume non-production traffic: half its cost', () => {
    const dev = row({
      environment: 'dev',
      modelId: 'amazon.nova-micro-v1:0',
      requests: 2_000,
      inputTokens: 1_000_000,
      outputTokens: 1_000_000,
      costPico: 175_000_000_000n, // 1M in at $0.000035/1K + 1M out at $0.00014/1K = $0.175
    });
    const batch = advise(catalog, settings, [dev], [], at).find((a) => a.kind === 'batch');
    expect(batch).toMatchObject({ environment: 'dev', monthlySavingUsd: 2.625 }); // $0.0875 a day x 30
  });

  it('recommends prompt caching for a repeated system prompt above the model minimum, never quoting it', () => {
    const advice = advise(
      catalog,
      settings,
      [row({})],
      [
        {
          costCenter: 'support',
          applicationId: 'bot',
          modelId: 'global.anthropic.claude-sonnet-4-6',
          systemHash: 'a'.repeat(64),
          systemTokens: 2_000,
          requests: 11,
        },
      ],
      at,
    ).find((a) => a.kind === 'prompt-caching');
    // 10 reads save $0.0027/1K each on 2,000 tokens ($0.054); one write costs $0.00075/1K more ($0.0015).
    expect(advice).toMatchObject({ monthlySavingUsd: 1.575 });
  });

  it('skips a system prompt below the model minimum or not repeated enough', () => {
    const base = {
      costCenter: 'support',
      applicationId: 'bot',
      modelId: 'global.anthropic.claude-sonnet-4-6',
      systemHash: 'b',
    };
    const advice = advise(
      catalog,
      settings,
      [row({})],
      [
        { ...base, systemTokens: 500, requests: 100 },
        { ...base, systemTokens: 5_000, requests: 3 },
      ],
      at,
    );
    expect(advice.filter((a) => a.kind === 'prompt-caching')).toEqual([]);
  });

  it('flags max_tokens far above real output, as budget held rather than money', () => {
    const tenths = [90, 8, 2, 0, 0, 0, 0, 0, 0, 0];
    const advice = advise(
      catalog,
      settings,
      [row({ maxTokens: 100 * 4_000, outputShareTenths: tenths })],
      [],
      at,
    ).find((a) => a.kind === 'max-tokens');
    expect(advice).toMatchObject({ monthlySavingUsd: 0 });
    expect(advice?.evidence).toContain('at most 20% of their max_tokens');
  });

  it('names a Legacy model to migrate, with the price difference', () => {
    const legacy = row({
      modelId: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
      costPico: 105_000_000_000n,
    });
    const advice = advise(catalog, settings, [legacy], [], at).find((a) => a.kind === 'legacy-model');
    expect(advice).toMatchObject({ monthlySavingUsd: 0 });
    expect(advice?.action).toContain('claude-sonnet');
    expect(advice?.evidence).toContain('2027-04-08');
  });

  it('proposes provisioned throughput only past its break-even', () => {
    const heavy = row({
      modelId: 'amazon.nova-micro-v1:0',
      inputTokens: 2_000_000_000,
      outputTokens: 0,
      costPico: 70_000_000_000_000n, // 2B tokens at $0.000035/1K = $70 a day: $2,100 a month
    });
    const advice = advise(catalog, settings, [heavy], [], at).find((a) => a.kind === 'provisioned');
    // 2B tokens a day is about 1.39M a minute: 2 units at $1 an hour, $1,440 a month.
    expect(advice).toMatchObject({ monthlySavingUsd: 660 });
    expect(
      advise(catalog, settings, [row({ modelId: 'amazon.nova-micro-v1:0' })], [], at).some(
        (a) => a.kind === 'provisioned',
      ),
    ).toBe(false);
  });
});

describe('the output share of max_tokens', () => {
  it.each([
    [0, 100, 0],
    [9, 100, 0],
    [10, 100, 1],
    [99, 100, 9],
    [100, 100, 9],
  ])('%i of %i tokens is tenth %i', (output, max, tenth) => {
    expect(outputShareTenth(output, max)).toBe(tenth);
  });

  it('finds the tenth 95% of answers stay under', () => {
    expect(p95Share([90, 8, 2, 0, 0, 0, 0, 0, 0, 0])).toBe(0.2);
    expect(p95Share([0, 0, 0, 0, 0, 0, 0, 0, 0, 10])).toBe(1);
    expect(p95Share([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).toBeUndefined();
  });
});
