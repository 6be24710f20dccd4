import { describe, expect, it } from 'vitest';
import { budgetInputSchema } from '../../lambdas/shared/rules/budget-input.ts';
import { budgetItem, definitionOf } from '../../lambdas/shared/rules/budget-items.ts';
import {
  asksNoCache,
  cacheItemText,
  cacheKey,
  canonicalJson,
  freshAnswer,
  isCacheable,
  MAX_CACHED_ANSWER_BYTES,
} from '../../lambdas/shared/rules/response-cache.ts';

const request = {
  modelId: 'amazon.nova-lite-v1:0',
  messages: [{ role: 'user' as const, content: [{ text: 'Hi' }] }],
  parameters: { maxTokens: 64, temperature: 0 },
};

describe('the response cache key', () => {
  it('does not depend on the order of object keys', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}',
    );
  });

  it('is the same for the same request and cost center, and differs for another cost center', () => {
    expect(cacheKey('support', request)).toBe(cacheKey('support', { ...request }));
    expect(cacheKey('support', request)).not.toBe(cacheKey('sales', request));
  });

  it.each([
    ['the model', { ...request, modelId: 'amazon.nova-pro-v1:0' }],
    ['a message', { ...request, messages: [{ role: 'user' as const, content: [{ text: 'Hi!' }] }] }],
    ['the system prompt', { ...request, system: [{ text: 'Be brief.' }] }],
    ['a parameter', { ...request, parameters: { maxTokens: 65, temperature: 0 } }],
    [
      'the tools',
      { ...request, toolConfig: { tools: [{ toolSpec: { name: 'f', inputSchema: { json: {} } } }] } },
    ],
  ])('changes with %s', (_what, other) => {
    expect(cacheKey('support', other)).not.toBe(cacheKey('support', request));
  });
});

describe('what may be cached', () => {
  it.each([
    ['no policy', undefined, 0, false, false],
    ['temperature 0', { ttlSeconds: 60 }, 0, false, true],
    ['a sampled answer', { ttlSeconds: 60 }, 0.7, false, false],
    [
      'a sampled answer when the budget allows any temperature',
      { ttlSeconds: 60, anyTemperature: true },
      0.7,
      false,
      true,
    ],
    ['Cache-Control: no-cache', { ttlSeconds: 60 }, 0, true, false],
  ])('%s', (_name, policy, temperature, noCache, expected) => {
    expect(isCacheable({ parameters: { maxTokens: 1, temperature } }, policy, noCache)).toBe(expected);
  });

  it.each([
    [undefined, false],
    ['max-age=0', false],
    ['no-cache', true],
    ['private, No-Store', true],
  ])('Cache-Control %s asks to skip the cache: %s', (header, expected) => {
    expect(asksNoCache(header)).toBe(expected);
  });
});

describe('a budget cache policy, as the config and the admin API write it', () => {
  const budget = (cache: unknown) => budgetInputSchema.safeParse({ period: 'monthly', limitUsd: 10, cache });

  it.each([[{ ttlSeconds: 3600 }], [{ ttlSeconds: 60, anyTemperature: true }]])('takes %j', (cache) => {
    expect(budget(cache).success).toBe(true);
  });

  it.each([
    ['no TTL', {}],
    ['a TTL of 0', { ttlSeconds: 0 }],
    ['a fraction of a second', { ttlSeconds: 1.5 }],
    ['more than 30 days', { ttlSeconds: 30 * 86_400 + 1 }],
    ['an unknown field', { ttlSeconds: 60, shared: true }],
  ])('refuses %s', (_name, cache) => {
    expect(budget(cache).success).toBe(false);
  });

  it('survives the round trip through the stored budget item', () => {
    const stored = budgetItem({
      costCenter: 'support',
      period: 'monthly',
      limitPico: 1n,
      alertThresholds: [],
      cache: { ttlSeconds: 60, anyTemperature: true },
    });

    expect(definitionOf(stored).cache).toEqual({ ttlSeconds: 60, anyTemperature: true });
  });
});

const NO_TOKENS = {
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  cacheReadInputTokens: 0,
  cacheWriteInputTokens: 0,
};

describe('a stored answer', () => {
  const stored = { answer: '{"content":[],"stopReason":"end_turn"}', expiresAt: new Date(10_000) };

  it('is served until it expires, and not from the moment it does', () => {
    expect(freshAnswer(stored, 9_999)).toMatchObject({ stopReason: 'end_turn' });
    expect(freshAnswer(stored, 10_000)).toBeUndefined();
  });

  it('is not kept when it would not fit a DynamoDB item', () => {
    const answer = (chars: number) => ({
      content: [{ text: 'x'.repeat(chars) }],
      stopReason: 'end_turn',
      usage: { ...NO_TOKENS, inputTokens: 1 },
      latencyMs: 1,
    });

    expect(cacheItemText(answer(1_000))).toBeDefined();
    expect(cacheItemText(answer(MAX_CACHED_ANSWER_BYTES))).toBeUndefined();
  });
});
