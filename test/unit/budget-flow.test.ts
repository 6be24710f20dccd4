import { describe, expect, it } from 'vitest';
import { budgetWithFigures } from '../../lambdas/budget-admin/budgets.ts';
import { reserveBudget } from '../../lambdas/reserve-budget/core.ts';
import { type BudgetDefinition, windowMinute } from '../../lambdas/shared/rules/budget.ts';
import { SentryError } from '../../lambdas/shared/rules/errors.ts';
import { settleRequest } from '../../lambdas/shared/rules/settlement.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import { catalog, RECEIVED_AT, storeWith, validatedRequest } from '../helpers/core-fixtures.ts';
import type { MemoryBudgetStore } from '../helpers/memory-budget-store.ts';

const WORST = 27_660_000n;
const depsAt = (store: MemoryBudgetStore, now: () => number) => ({
  store,
  catalog,
  now,
  sleep: async () => undefined,
});
const fieldsOf = (error: unknown) => (error instanceof SentryError ? error.fields : undefined);
const noErrors = () => undefined;

describe('held versus spent under concurrency', () => {
  it('lets 200 clients that retry held refusals spend all but less than one worst case, never past the limit', async () => {
    const limit = WORST * 50n;
    const store = storeWith([{ costCenter: 'support', period: 'monthly', limitPico: limit.toString() }]);
    const deps = depsAt(store, () => RECEIVED_AT);
    const reasons: string[] = [];

    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        for (let attempt = 0; ; attempt++) {
          const request = validatedRequest({ requestId: `r-${i}-${attempt}` });
          try {
            const { reservation } = await reserveBudget(request, deps);
            // Each uses 40% of its worst case.
            const used = { pico: (WORST * 4n) / 10n, tokens: 64 };
            await settleRequest(
              store,
              reservation,
              used,
              { requestId: request.requestId, tags: request.tags, modelId: 'm', at: new Date() },
              noErrors,
            );
            return;
          } catch (error) {
            const reason = fieldsOf(error)?.reason ?? 'other';
            reasons.push(reason);
            if (reason !== 'held') return;
          }
        }
      }),
    );

    const figures = store.figures(keys.counter({ costCenter: 'support' }, '2026-11'));
    expect(figures.spentPico).toBeLessThanOrEqual(limit);
    expect(figures.spentPico).toBeGreaterThan(limit - WORST);
    expect(figures.reservedPico).toBe(0n);
    expect(new Set(reasons.filter((r) => r !== 'held'))).toEqual(new Set(['spent']));
  });
});

describe('rate windows at the minute boundary', () => {
  const rated = (rateLimits: { requestsPerMinute?: number; tokensPerMinute?: number }) =>
    storeWith([{ costCenter: 'support', period: 'monthly', limitPico: '1000000000000', rateLimits }]);

  it('refuses the second request of a minute with Retry-After to the next one, and serves it then', async () => {
    const store = rated({ requestsPerMinute: 1 });
    let now = Date.parse('2026-11-23T10:00:59.200Z');
    const deps = depsAt(store, () => now);

    await reserveBudget(validatedRequest({ requestId: 'a' }), deps);
    const refused = await reserveBudget(validatedRequest({ requestId: 'b' }), deps).catch((e: unknown) => e);
    now = Date.parse('2026-11-23T10:01:00.000Z');
    const next = await reserveBudget(validatedRequest({ requestId: 'c' }), deps);

    expect(fieldsOf(refused)).toMatchObject({ limit: 'requestsPerMinute', retryAfterSeconds: 1 });
    expect(next.reservation.windows?.[0]?.sk).toBe('RATE#2026-11-23T10:01');
  });

  it('counts tokens at the worst case and corrects them at settle, so the window takes more', async () => {
    const store = rated({ tokensPerMinute: 300 });
    const now = Date.parse('2026-11-23T10:00:10Z');
    const deps = depsAt(store, () => now);
    const window = keys.rateWindow({ costCenter: 'support' }, windowMinute(new Date(now)));

    const first = validatedRequest({ requestId: 'a' });
    const { reservation } = await reserveBudget(first, deps);
    const whileHeld = await reserveBudget(validatedRequest({ requestId: 'b' }), deps).catch(
      (e: unknown) => e,
    );
    await settleRequest(
      store,
      reservation,
      { pico: 1_000_000n, tokens: 50 },
      { requestId: first.requestId, tags: first.tags, modelId: 'm', at: new Date(now) },
      noErrors,
    );
    const afterSettle = await reserveBudget(validatedRequest({ requestId: 'c' }), deps);

    expect(fieldsOf(whileHeld)).toMatchObject({ limit: 'tokensPerMinute' });
    expect(afterSettle.reservation.windows).toHaveLength(1);
    expect(store.windowFigures(window)).toEqual({ requests: 2, tokens: 50 + 161 });
  });

  it('uncounts a request the budget refuses, so a refusal does not use up the rate limit', async () => {
    const store = storeWith([
      { costCenter: 'support', period: 'monthly', limitPico: '1', rateLimits: { requestsPerMinute: 5 } },
    ]);
    const now = Date.parse('2026-11-23T10:00:10Z');

    await reserveBudget(
      validatedRequest(),
      depsAt(store, () => now),
    ).catch(() => undefined);

    const window = keys.rateWindow({ costCenter: 'support' }, windowMinute(new Date(now)));
    expect(store.windowFigures(window)).toEqual({ requests: 0, tokens: 0 });
  });
});

describe('a budget as budgets get shows it', () => {
  it('shows its rate limits with this minute’s counts, its fitting, and which policies are in force', async () => {
    const store = storeWith([
      {
        costCenter: 'support',
        period: 'monthly',
        limitPico: '100000000',
        fit: 'clamp',
        minOutputTokens: 16,
        rateLimits: { requestsPerMinute: 10 },
        policies: [
          { atUtilization: 0, action: 'downgrade', from: 'nova-lite', to: 'nova-micro' },
          { atUtilization: 0.9, action: 'deny', models: ['nova-pro'] },
        ],
      },
    ]);
    const now = Date.parse('2026-11-23T10:00:10Z');
    await reserveBudget(
      validatedRequest(),
      depsAt(store, () => now),
    );

    const body = await budgetWithFigures([...store.budgets.values()][0] as BudgetDefinition, {
      store,
      keys: undefined as never,
      now: () => new Date(now),
    });

    expect(body).toMatchObject({
      fit: 'clamp',
      minOutputTokens: 16,
      rateLimits: { requestsPerMinute: 10 },
      rateWindow: { minute: '2026-11-23T10:00', requests: 1, tokens: 145 },
      policies: [
        { action: 'downgrade', active: true },
        { action: 'deny', active: false },
      ],
    });
  });
});
