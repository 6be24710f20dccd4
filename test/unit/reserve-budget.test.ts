import { describe, expect, it } from 'vitest';
import { reserveBudget } from '../../lambdas/reserve-budget/core.ts';
import { SentryError } from '../../lambdas/shared/rules/errors.ts';
import { scopeOf } from '../../lambdas/shared/rules/settlement.ts';
import {
  type BudgetFixture,
  budgetOf,
  loadFixture,
  RECEIVED_AT,
  storeWith,
  validatedRequest,
} from '../helpers/core-fixtures.ts';

type Scope = 'costCenter' | 'application';

interface ReserveCase {
  name: string;
  budgets: BudgetFixture[];
  /** pico-USD another request holds on the cost center's counter. */
  heldByOthers?: string;
  /** The store's reserve fails after this many calls that succeed. */
  failReserveAfter?: number;
  expect: {
    scopes?: Scope[];
    error?: { name: string; scope?: Scope; message?: string; retryAfterSeconds?: number };
    /** pico-USD held on each budget's counter afterwards. */
    heldPico?: Partial<Record<Scope, string>>;
  };
}

const { cases } = loadFixture<{ cases: ReserveCase[] }>('reserve-budget.json');
const at = new Date(RECEIVED_AT);

describe('reserveBudget', () => {
  it.each(cases)('$name', async (c) => {
    const store = storeWith(c.budgets);
    const counterOf = (scope: Scope) => {
      const budget = c.budgets.find((b) => (scope === 'application') === (b.applicationId === 'docs-helper'));
      if (!budget) throw new Error(`the case has no ${scope} budget`);
      return scopeOf(budgetOf(budget), at);
    };
    if (c.heldByOthers) {
      store.hold(counterOf('costCenter'), 'other', { pico: BigInt(c.heldByOthers), tokens: 0 }, at);
    }
    if (c.failReserveAfter !== undefined) store.failOn('reserve', c.failReserveAfter);

    const outcome = await reserveBudget(validatedRequest(), { store }).then(
      (reservation) => ({ reservation, error: undefined }),
      (error: Error) => ({ reservation: undefined, error }),
    );

    if (c.expect.error) {
      expect(outcome.error?.name).toBe(c.expect.error.name);
      const fields = outcome.error instanceof SentryError ? outcome.error.fields : undefined;
      if (c.expect.error.scope) expect(fields?.budget?.scope).toBe(c.expect.error.scope);
      if (c.expect.error.retryAfterSeconds !== undefined) {
        expect(fields?.retryAfterSeconds).toBe(c.expect.error.retryAfterSeconds);
      }
      if (c.expect.error.message) expect(outcome.error?.message).toBe(c.expect.error.message);
    } else {
      expect(outcome.error).toBeUndefined();
      expect(outcome.reservation?.scopes.map((s) => s.scope)).toEqual(c.expect.scopes);
      expect(outcome.reservation).toMatchObject({ requestId: 'req-1', costPico: '27660000', tokens: 161 });
    }
    for (const [scope, pico] of Object.entries(c.expect.heldPico ?? {})) {
      expect(store.figures(counterOf(scope as Scope)).reservedPico).toBe(BigInt(pico));
    }
  });

  it('holds nothing more when the same request reserves again', async () => {
    const store = storeWith([{ costCenter: 'support', period: 'monthly', limitPico: '1000000000000' }]);
    const request = validatedRequest();

    await reserveBudget(request, { store });
    const again = await reserveBudget(request, { store });

    expect(store.figures(again.scopes[0] ?? { pk: '', sk: '' }).reservedPico).toBe(27_660_000n);
  });
});
