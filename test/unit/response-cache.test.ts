import { describe, expect, it } from 'vitest';
import {
  asksNoCache,
  cacheKey,
  canonicalJson,
  isCacheable,
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
