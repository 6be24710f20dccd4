import { describe, expect, it } from 'vitest';
import { budgetDefinitions, ConfigError, parseConfig } from '../../lib/config/schema.ts';
import { exampleConfig } from '../helpers/fixtures.ts';

const valid = () => structuredClone(exampleConfig()) as unknown as Record<string, unknown>;

function configError(raw: unknown): string {
  try {
    parseConfig(raw, 'test config');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('the configuration', () => {
  it('ships the required aliases and the example cost centers', () => {
    const config = exampleConfig();
    expect(Object.keys(config.models)).toEqual(
      expect.arrayContaining([
        'nova-micro',
        'nova-lite',
        'nova-pro',
        'claude-haiku',
        'claude-sonnet',
        'claude-opus',
      ]),
    );
    expect(Object.keys(config.retiredModels)).toEqual(
      expect.arrayContaining(['claude-2', 'claude-3-5-haiku', 'claude-3-5-sonnet']),
    );
    expect(Object.keys(config.budgets).sort()).toEqual(['sales', 'services', 'support']);
    expect(config.environments).toEqual(['dev', 'test', 'staging', 'production']);
  });

  it('turns budgets into exact pico-USD limits', () => {
    const support = budgetDefinitions(exampleConfig()).find((b) => b.costCenter === 'support');
    expect(support?.limitPico).toBe(500_000_000_000_000n);
  });

  it.each([
    [
      'a model with no price',
      (c: Record<string, unknown>) => {
        (c.models as Record<string, unknown>).extra = {
          modelId: 'amazon.titan-text-lite-v1',
          maxOutputTokens: 100,
        };
      },
      /no price for amazon\.titan-text-lite-v1 \(alias extra\)/,
    ],
    [
      'a budget policy naming a model the catalog does not have',
      (c: Record<string, unknown>) => {
        (c.budgets as Record<string, unknown>).typo = {
          period: 'monthly',
          limitUsd: 1,
          policies: [{ atUtilization: 0.8, action: 'downgrade', from: 'nova-lite', to: 'nova-mini' }],
        };
      },
      /budgets\.typo\.policies\.0: names 'nova-mini', which is not in models/,
    ],
    [
      'rate limits that name no limit',
      (c: Record<string, unknown>) => {
        (c.budgets as Record<string, unknown>).unlimited = { period: 'monthly', limitUsd: 1, rateLimits: {} };
      },
      /budgets\.unlimited\.rateLimits: rateLimits needs requestsPerMinute, tokensPerMinute or both/,
    ],
    [
      'a budget with no limit',
      (c: Record<string, unknown>) => {
        (c.budgets as Record<string, unknown>).empty = { period: 'monthly' };
      },
      /budgets\.empty: a budget needs limitUsd, limitTokens or both/,
    ],
    [
      'a limit finer than a pico-dollar, as the admin API does',
      (c: Record<string, unknown>) => {
        (c.budgets as Record<string, unknown>).fine = { period: 'monthly', limitUsd: 0.0000000000001 };
      },
      /budgets\.fine\.limitUsd: must be a whole number of pico-dollars/,
    ],
    [
      'an application budget with an unknown period',
      (c: Record<string, unknown>) => {
        (c.budgets as Record<string, unknown>).weekly = {
          period: 'monthly',
          limitUsd: 10,
          applications: { app: { period: 'weekly', limitUsd: 1 } },
        };
      },
      /budgets\.weekly\.applications\.app\.period/,
    ],
    [
      'a negative price',
      (c: Record<string, unknown>) => {
        const prices = c.prices as Array<{ models: Record<string, { inputPer1k: number }> }>;
        const first = prices[0]?.models['amazon.nova-lite-v1:0'];
        if (first) first.inputPer1k = -1;
      },
      /prices\.0\.models\.amazon\.nova-lite-v1:0\.inputPer1k/,
    ],
    [
      'a body limit above the Step Functions payload',
      (c: Record<string, unknown>) => {
        (c.limits as Record<string, unknown>).maxBodyBytes = 300_000;
      },
      /256 KB Step Functions payload limit/,
    ],
    [
      'an unknown field',
      (c: Record<string, unknown>) => {
        c.modles = {};
      },
      /modles/,
    ],
  ])('refuses %s with a clear message', (_name, mutate, message) => {
    const config = valid();
    mutate(config);
    expect(configError(config)).toMatch(message);
  });
});
