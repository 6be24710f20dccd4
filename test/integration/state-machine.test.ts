import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { type FaultProxy, whileFailing } from '../helpers/dynamo-proxy.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { counters, errorOf, execute, startProxiedRuntime } from '../helpers/local-runtime.ts';

/**
 * The real ASL file, run by aws-local-stepfunctions with the real handlers, dynalite and the
 * HTTP/2 Bedrock simulator.
 */
let runtime: LocalRuntime;
let proxy: FaultProxy;

beforeAll(async () => {
  ({ runtime, proxy } = await startProxiedRuntime({ bedrockTimeoutMs: 1_500 }));
});
afterAll(() => runtime?.close());

const calls = () => runtime.simulator?.stats.calls ?? 0;

describe('the workflow', () => {
  it('answers a valid request with the DESIGN section 3 body and settles its real cost', async () => {
    const before = await counters(runtime, 'support');
    const result = await execute(
      runtime,
      invokeBody({ content: 'Hello [[sim:output_tokens=40]]', maxTokens: 100 }),
    );

    expect(result.status).toBe('SUCCEEDED');
    const body = JSON.parse(result.output ?? '{}');
    expect(body).toMatchObject({
      requestId: result.requestId,
      model: { alias: 'nova-lite', modelId: 'amazon.nova-lite-v1:0' },
      output: { role: 'assistant' },
      stopReason: 'end_turn',
      usage: {
        inputTokens: 8,
        outputTokens: 40,
        totalTokens: 48,
        cacheReadInputTokens: 0,
        cacheWriteInputTokens: 0,
      },
      cost: { usd: 0.00001008, priceVersion: '2026-12-01' },
      budget: {
        costCenter: 'support',
        period: 'monthly',
        limitUsd: 500,
        resetsAt: expect.stringMatching(/T00:00:00Z$/),
      },
      tags: {
        applicationId: 'docs-helper',
        costCenter: 'support',
        environment: 'production',
        requestId: result.requestId,
      },
    });
    expect(body.latencyMs.total).toBeGreaterThanOrEqual(body.latencyMs.model);

    const after = await counters(runtime, 'support');
    expect(after.spentPico - before.spentPico).toBe(usdToPico(body.cost.usd));
    expect(after.reservedPico).toBe(0n);
    expect(body.budget.spentUsd).toBe(Number(after.spentPico) / 1e12);
  });

  it('refuses a request that does not fit the budget before calling Bedrock', async () => {
    await runtime.store.putBudget({
      costCenter: 'tiny',
      period: 'daily',
      limitPico: usdToPico('0.000001'),
      alertThresholds: [],
    });
    const before = calls();
    const result = await execute(runtime, invokeBody({ costCenter: 'tiny' }));

    expect(result).toMatchObject({ status: 'FAILED', error: 'BUDGET_EXCEEDED' });
    const error = errorOf(result);
    expect(error.budget).toMatchObject({
      costCenter: 'tiny',
      scope: 'costCenter',
      period: 'daily',
      limitUsd: 0.000001,
    });
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(calls()).toBe(before);
    expect((await counters(runtime, 'tiny', 'daily')).reservedPico).toBe(0n);
  });

  it('retries throttling and succeeds when it passes', async () => {
    const before = calls();
    const result = await execute(
      runtime,
      invokeBody({ content: 'Hi [[sim:error=ThrottlingException;times=2]]' }),
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(calls() - before).toBe(3);
  });

  it('answers MODEL_THROTTLED when throttling persists, and releases the reservation', async () => {
    const spentBefore = (await counters(runtime, 'support')).spentPico;
    const before = calls();
    const result = await execute(runtime, invokeBody({ content: 'Hi [[sim:error=ThrottlingException]]' }));
    expect(result).toMatchObject({ status: 'FAILED', error: 'MODEL_THROTTLED' });
    expect(errorOf(result).retryAfterSeconds).toBe(2);
    expect(calls() - before).toBe(3);
    const after = await counters(runtime, 'support');
    expect([after.reservedPico, after.spentPico]).toEqual([0n, spentBefore]);
  });

  it('answers MODEL_ERROR for a Bedrock validation error, without retrying, and releases', async () => {
    const before = calls();
    const result = await execute(runtime, invokeBody({ content: 'Hi [[sim:error=ValidationException]]' }));
    expect(result).toMatchObject({ status: 'FAILED', error: 'MODEL_ERROR' });
    expect(errorOf(result).message).toBe('Bedrock refused the request as invalid for this model.');
    expect(calls() - before).toBe(1);
    expect((await counters(runtime, 'support')).reservedPico).toBe(0n);
  });

  it('answers MODEL_TIMEOUT after the client timeout, never retries it, and charges the reservation', async () => {
    const spentBefore = (await counters(runtime, 'support')).spentPico;
    const before = calls();
    const result = await execute(
      runtime,
      invokeBody({ content: 'Hi [[sim:latency_ms=3000]]', maxTokens: 10 }),
    );
    expect(result).toMatchObject({ status: 'FAILED', error: 'MODEL_TIMEOUT' });
    expect(calls() - before).toBe(1);
    const after = await counters(runtime, 'support');
    expect(after.reservedPico).toBe(0n);
    expect(after.spentPico).toBeGreaterThan(spentBefore);
  });

  it('fails closed when the budget store fails: no Bedrock call, INTERNAL_ERROR, no internals', async () => {
    const before = calls();
    const result = await whileFailing(proxy, 'all', () => execute(runtime, invokeBody()));
    expect(result).toMatchObject({ status: 'FAILED', error: 'INTERNAL_ERROR' });
    expect(errorOf(result)).toEqual({
      code: 'INTERNAL_ERROR',
      message: 'Internal error.',
      requestId: result.requestId,
    });
    expect(proxy.failures).toBeGreaterThan(0);
    expect(calls()).toBe(before);
    expect((await counters(runtime, 'support')).reservedPico).toBe(0n);
  });

  it('fails closed when only the reservation write fails', async () => {
    const before = calls();
    const result = await whileFailing(proxy, new Set(['UpdateItem']), () => execute(runtime, invokeBody()));
    expect(result).toMatchObject({ status: 'FAILED', error: 'INTERNAL_ERROR' });
    expect(calls()).toBe(before);
    expect((await counters(runtime, 'support')).reservedPico).toBe(0n);
  });

  it.each([
    ['an unknown cost center', invokeBody({ costCenter: 'marketing' }), 'UNKNOWN_COST_CENTER'],
    ['an unknown model', invokeBody({ model: 'gpt-4' }), 'UNKNOWN_MODEL'],
    ['max_tokens over the cap', invokeBody({ maxTokens: 100_000 }), 'INVALID_REQUEST'],
    ['malformed JSON', '{"model"', 'INVALID_REQUEST'],
  ])('refuses %s without calling Bedrock', async (_name, body, code) => {
    const before = calls();
    const result = await execute(runtime, body);
    expect(result).toMatchObject({ status: 'FAILED', error: code });
    expect(errorOf(result).code).toBe(code);
    expect(calls()).toBe(before);
  });
});
