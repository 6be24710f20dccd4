import { describe, expect, it } from 'vitest';
import { priceOf, priceVersionAt, resolveModel, retiredModel } from '../../lambdas/shared/rules/catalog.ts';
import { type ChatMessage, contentTokenBound } from '../../lambdas/shared/rules/content.ts';
import { usageCost, worstCaseCost } from '../../lambdas/shared/rules/pricing.ts';

/** A one-message prompt, with an optional system prompt, in Converse blocks. */
const promptOf = (system: string | undefined, text: string) => ({
  ...(system ? { system: [{ text: system }] } : {}),
  messages: [{ role: 'user', content: [{ text }] } satisfies ChatMessage],
});

import { exampleCatalog } from '../helpers/fixtures.ts';

const catalog = exampleCatalog();

describe('the price catalog', () => {
  it.each([
    ['nova-micro', 35_000_000n, 140_000_000n],
    ['nova-lite', 60_000_000n, 240_000_000n],
    ['nova-pro', 800_000_000n, 3_200_000_000n],
    ['claude-haiku', 1_000_000_000n, 5_000_000_000n],
    ['claude-sonnet', 3_000_000_000n, 15_000_000_000n],
    ['claude-opus', 5_000_000_000n, 25_000_000_000n],
  ])('prices %s at its list prices (pico-USD per 1K in and out)', (alias, input, output) => {
    const model = resolveModel(catalog, alias);
    expect(model).toBeDefined();
    const price = priceOf(catalog, '2026-12-01', model?.modelId ?? '');
    expect([price.input, price.output]).toEqual([input, output]);
  });

  it('maps the seed 001 aliases: nova-lite to its model, claude-2 to a retired model with a replacement', () => {
    expect(resolveModel(catalog, 'nova-lite')?.modelId).toBe('amazon.nova-lite-v1:0');
    expect(resolveModel(catalog, 'claude-2')).toBeUndefined();
    expect(retiredModel(catalog, 'claude-2')).toMatchObject({ replacement: 'claude-haiku' });
    expect(retiredModel(catalog, 'anthropic.claude-v2:0')).toMatchObject({ alias: 'claude-2' });
  });

  it('calls the Claude models through global inference profiles, priced as the profile is', () => {
    for (const alias of ['claude-haiku', 'claude-sonnet', 'claude-opus']) {
      expect(resolveModel(catalog, alias)?.invokeModelId).toMatch(/^global\.anthropic\./);
    }
  });

  it('warns of a Legacy model end of life, and only of a Legacy one', () => {
    expect(resolveModel(catalog, 'claude-sonnet-4-5')?.warning).toMatch(
      /Legacy .* 2027-04-08; move to claude-sonnet/,
    );
    expect(resolveModel(catalog, 'claude-sonnet')?.warning).toBeUndefined();
  });

  it('accepts a raw model ID only when the catalog lists it', () => {
    expect(resolveModel(catalog, 'amazon.nova-micro-v1:0')?.alias).toBe('nova-micro');
    expect(resolveModel(catalog, 'amazon.titan-text-express-v1')).toBeUndefined();
    expect(resolveModel(catalog, 'toString')).toBeUndefined();
  });

  it('uses the latest price version in force', () => {
    const versions = {
      ...catalog,
      prices: [
        { ...catalog.prices[0], version: 'old', effectiveFrom: '2026-01-01' },
        { ...catalog.prices[0], version: 'new', effectiveFrom: '2026-12-01' },
      ],
    } as typeof catalog;
    expect(priceVersionAt(versions, new Date('2026-11-30T23:59:59Z'))).toBe('old');
    expect(priceVersionAt(versions, new Date('2026-12-01T00:00:00Z'))).toBe('new');
  });
});

describe('the worst-case estimate', () => {
  const texts = ['Hello', 'é'.repeat(100), '日本語のテキスト', '😀😀😀 emoji', 'x'.repeat(10_000), ''];

  it.each(texts)('is never below the UTF-8 bytes of %j, one token a byte at the most', (text) => {
    const bytes = Buffer.byteLength('Be brief.') + Buffer.byteLength(text || ' ');
    expect(contentTokenBound(promptOf('Be brief.', text || ' '), {})).toBeGreaterThanOrEqual(bytes);
  });

  it('bounds tokens by UTF-8 bytes plus role overhead', () => {
    expect(contentTokenBound(promptOf(undefined, 'abc'), {})).toBe(32 + 3 + 8);
    expect(
      contentTokenBound(
        {
          system: [{ text: 'é' }],
          messages: [
            { role: 'user', content: [{ text: 'a' }] },
            { role: 'assistant', content: [{ text: 'b' }] },
          ],
        },
        {},
      ),
    ).toBe(32 + 2 + 8 + 1 + 8 + 1 + 8);
  });

  it('prices every input token at the dearest input rate and max_tokens at the output rate', () => {
    const price = {
      input: 800_000_000n,
      output: 4_000_000_000n,
      cacheRead: 80_000_000n,
      cacheWrite: 1_000_000_000n,
    };
    expect(worstCaseCost(1000, 1000, price)).toBe(1_000_000_000n + 4_000_000_000n);
  });

  it('is never below the real cost of any usage within the bound', () => {
    const price = priceOf(catalog, '2026-12-01', 'global.anthropic.claude-haiku-4-5-20251001-v1:0');
    const worst = worstCaseCost(100, 50, price);
    for (const [input, cacheRead, cacheWrite] of [
      [100, 0, 0],
      [0, 100, 0],
      [0, 0, 100],
      [30, 30, 40],
    ] as const) {
      const real = usageCost(
        {
          inputTokens: input,
          outputTokens: 50,
          totalTokens: 0,
          cacheReadInputTokens: cacheRead,
          cacheWriteInputTokens: cacheWrite,
        },
        price,
      );
      expect(real).toBeLessThanOrEqual(worst);
    }
  });
});
