import { describe, expect, it } from 'vitest';
import { chargeOf, type FailedState, handleFailure } from '../../lambdas/handle-failure/core.ts';
import { NOT_BILLED } from '../../lambdas/shared/rules/errors.ts';
import { scopeOf } from '../../lambdas/shared/rules/settlement.ts';
import {
  catalog,
  loadFixture,
  RECEIVED_AT,
  reserveIn,
  storeWith,
  validatedRequest,
} from '../helpers/core-fixtures.ts';
import type { MemoryBudgetStore } from '../helpers/memory-budget-store.ts';

interface ChargeCase {
  name: string;
  error: string;
  /** Bedrock answered with this usage before the failure. */
  invoked?: { inputTokens: number; outputTokens: number };
  /** The request failed before it held a reservation. */
  unreserved?: boolean;
  chargedPico: string;
  /** The public code of the failure (checked when given). */
  code?: string;
}

interface UnknownHoldsCase {
  name: string;
  error: string;
  released: boolean;
  code?: string;
}

const { charges, unknownHolds } = loadFixture<{ charges: ChargeCase[]; unknownHolds: UnknownHoldsCase[] }>(
  'handle-failure.json',
);

const BUDGETS = [
  { costCenter: 'support', period: 'monthly' as const, limitPico: '500000000000000' },
  { costCenter: 'support', applicationId: 'docs-helper', period: 'daily' as const, limitTokens: 100_000 },
];

const deps = (store: MemoryBudgetStore, errors: string[] = []) => ({
  store,
  catalog,
  now: () => RECEIVED_AT + 100,
  onError: (what: string) => errors.push(what),
});

/** The state HandleFailure receives when a step after ReserveBudget failed. */
function failedState(store: MemoryBudgetStore, c: ChargeCase): FailedState {
  const request = validatedRequest();
  const reservation = c.unreserved ? undefined : reserveIn(store, request);
  const invocation = c.invoked && {
    output: { role: 'assistant' as const, content: [{ text: 'sim' }] },
    stopReason: 'end_turn',
    usage: { ...c.invoked, totalTokens: 0, cacheReadInputTokens: 0, cacheWriteInputTokens: 0 },
    latencyMs: 13,
  };
  return {
    ...request,
    ...(reservation ? { reservation } : {}),
    ...(invocation ? { invocation } : {}),
    // As the Lambda runtime reports one of our errors: its public fields as the message.
    error: { Error: c.error, Cause: causeOf(c.error) },
  };
}

const causeOf = (name: string) =>
  JSON.stringify({ errorType: name, errorMessage: JSON.stringify({ message: 'public text' }), trace: [] });

describe('the failure handler', () => {
  it('reads the errors Bedrock bills nothing for from the catalog', () => {
    expect([...NOT_BILLED].sort()).toEqual([
      'DeadlineExceededError',
      'ModelError',
      'ModelThrottledError',
      'ModelUnavailableError',
    ]);
  });

  describe('charges a failed request', () => {
    it.each(charges)('$name', async (c) => {
      const store = storeWith(BUDGETS);
      const state = failedState(store, c);

      const charge = chargeOf(state, catalog);
      const result = await handleFailure(state, deps(store));

      expect(charge.pico).toBe(BigInt(c.chargedPico));
      expect(result.billed).toBe(c.chargedPico !== '0');
      if (c.code) expect(result.failure.code).toBe(c.code);
      for (const scope of state.reservation?.scopes ?? []) {
        expect(store.holders(scope)).toEqual([]);
        expect(store.figures(scope).spentPico).toBe(BigInt(c.chargedPico));
      }
      expect(result.record.costPico).toBe(state.reservation ? BigInt(c.chargedPico) : undefined);
      expect(store.usage).toHaveLength(c.chargedPico === '0' ? 0 : 1);
    });
  });

  describe('with no reservation known, after validation', () => {
    it.each(unknownHolds)('$name', async (c) => {
      const store = storeWith(BUDGETS);
      const request = validatedRequest();
      const at = new Date(RECEIVED_AT);
      const counters = [...store.budgets.values()].map((b) => scopeOf(b, at));
      const amount = { pico: 27_660_000n, tokens: 161 };
      // What a write whose answer was lost left behind, and another request's hold beside it.
      for (const counter of counters) {
        store.hold(counter, request.requestId, amount, at);
        store.hold(counter, 'another-request', amount, at);
      }

      const result = await handleFailure({ ...request, error: { Error: c.error } }, deps(store));

      for (const counter of counters) {
        expect(store.holders(counter)).toEqual(
          c.released ? ['another-request'] : [request.requestId, 'another-request'],
        );
        expect(store.figures(counter).spentPico).toBe(0n);
      }
      expect(result.billed).toBe(false);
      if (c.code) expect(result.failure.code).toBe(c.code);
    });

    it('reports a release that failed, for the sweeper to charge later', async () => {
      const store = storeWith(BUDGETS).failOn('release');
      const errors: string[] = [];
      const request = validatedRequest();

      const result = await handleFailure({ ...request, error: { Error: 'StoreError' } }, deps(store, errors));

      expect(errors).toEqual(['holds of a failed reservation not released; the sweeper charges them']);
      expect(result.failure.code).toBe('INTERNAL_ERROR');
    });
  });

  it('answers a Cause that is not one of ours with the generic internal error, never quoting it', async () => {
    const store = storeWith(BUDGETS);
    const state = failedState(store, { name: '', error: 'ModelError', chargedPico: '0' });
    state.error.Cause = JSON.stringify({
      errorType: 'ModelError',
      errorMessage: 'arn:aws:secret',
      trace: [],
    });

    const { failure } = await handleFailure(state, deps(store));

    expect(JSON.parse(failure.body)).toEqual({
      error: { code: 'INTERNAL_ERROR', message: 'Internal error.', requestId: 'req-1' },
    });
  });
});
