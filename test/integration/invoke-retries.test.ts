import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../lambdas/shared/rules/errors.ts';
import { periodKey } from '../../lambdas/shared/rules/period.ts';
import { readCounter } from '../../lambdas/shared/rules/sharded-counter.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { type LambdaHandler, LocalWorkflow } from '../../local/workflow.ts';
import { FUNCTIONS, type FunctionName } from '../../state-machines/definition.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { counters, FAST_RETRIES, startTestRuntime } from '../helpers/local-runtime.ts';

/**
 * An InvokeModel attempt that ends in a Lambda service error may have reached Bedrock and been
 * billed; whatever a later attempt would say, the request must be charged conservatively. A
 * ReserveBudget try that ends in one may have held money; it is given back, never held twice.
 */
let runtime: LocalRuntime;
let handlers: Record<FunctionName, LambdaHandler>;
beforeAll(async () => {
  runtime = await startTestRuntime();
  // The same handler modules the runtime imported (they read its environment at import).
  handlers = Object.fromEntries(
    await Promise.all(
      Object.values(FUNCTIONS).map(async (name) => [
        name,
        ((await import(`../../lambdas/${name}/handler.ts`)) as { handler: LambdaHandler }).handler,
      ]),
    ),
  ) as Record<FunctionName, LambdaHandler>;
});
afterAll(() => runtime?.close());

const lambdaError = (name: string) => Object.assign(new Error('Lambda failed'), { name });

describe('InvokeModel after a Lambda error', () => {
  it.each(['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'])(
    'charges the whole reservation when an attempt that called Bedrock ends in %s',
    async (errorName) => {
      let attempts = 0;
      const workflow = new LocalWorkflow(
        {
          ...handlers,
          // The first attempt reaches Bedrock (billed), then its Lambda fails; a retry would be
          // refused by Bedrock (not billed) and so look free.
          'invoke-model': async (event) => {
            attempts += 1;
            if (attempts > 1) throw new ModelError('Bedrock refused the request.');
            await handlers['invoke-model'](event);
            throw lambdaError(errorName);
          },
        },
        { retryIntervalOverrides: FAST_RETRIES },
      );
      const before = await counters(runtime, 'support');

      const result = await workflow.run({
        requestId: randomUUID(),
        receivedAt: Date.now(),
        body: JSON.stringify(invokeBody({ maxTokens: 100 })),
      });

      expect(result.status).toBe('FAILED');
      expect(attempts).toBe(1);
      const after = await counters(runtime, 'support');
      expect(after.reservedPico).toBe(before.reservedPico);
      expect(after.spentPico).toBeGreaterThan(before.spentPico);
    },
  );

  it('retries a throttled invocation, which never ran', async () => {
    let attempts = 0;
    const workflow = new LocalWorkflow(
      {
        ...handlers,
        'invoke-model': async (event) => {
          attempts += 1;
          if (attempts === 1) throw lambdaError('Lambda.TooManyRequestsException');
          return handlers['invoke-model'](event);
        },
      },
      { retryIntervalOverrides: FAST_RETRIES },
    );

    const result = await workflow.run({
      requestId: randomUUID(),
      receivedAt: Date.now(),
      body: JSON.stringify(invokeBody()),
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(attempts).toBe(2);
  });
});

describe('ReserveBudget after a Lambda error', () => {
  it.each(['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'])(
    'is not retried after %s, and the failure handler gives back the hold its try made on any shard',
    async (errorName) => {
      // A sharded budget: a retry could land on another shard than the first try's hold.
      const costCenter = `retried-${errorName.split('.')[1]?.toLowerCase()}`;
      const budget = {
        costCenter,
        period: 'monthly' as const,
        limitPico: 10n ** 12n,
        alertThresholds: [],
        shards: 4,
      };
      await runtime.store.putBudget(budget);
      let attempts = 0;
      const workflow = new LocalWorkflow(
        {
          ...handlers,
          // The try holds the worst case, then its answer is lost.
          'reserve-budget': async (event) => {
            attempts += 1;
            await handlers['reserve-budget'](event);
            throw lambdaError(errorName);
          },
        },
        { retryIntervalOverrides: FAST_RETRIES },
      );

      const result = await workflow.run({
        requestId: randomUUID(),
        receivedAt: Date.now(),
        body: JSON.stringify(invokeBody({ costCenter })),
      });

      expect(result.status).toBe('FAILED');
      expect(attempts).toBe(1);
      const month = periodKey('monthly', new Date());
      const { figures, shards } = await readCounter(runtime.store, budget, month);
      expect(shards).toHaveLength(4);
      expect(figures.allocatedPico).toBe(0n);
      expect(figures.reservedPico).toBe(0n);
    },
  );
});
