import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import { invokeRoute } from '../../local/invoke-route.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { startTestRuntime } from '../helpers/local-runtime.ts';

/** The deployed mapping templates around the real state machine: what API Gateway would answer. */
let runtime: LocalRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime();
  await runtime.store.putBudget({
    costCenter: 'empty',
    period: 'monthly',
    limitPico: usdToPico('0.000001'),
    alertThresholds: [],
  });
});
afterAll(() => runtime?.close());

const call = (body: string, maxBodyBytes = 204_800) =>
  invokeRoute(
    runtime.workflow,
    { body, requestId: randomUUID(), requestTimeEpoch: Date.now() },
    maxBodyBytes,
  );

describe('POST /v1/invoke through the mapping templates', () => {
  it('answers 200 with the response body, prompt text intact, and x-request-id', async () => {
    const response = await call(JSON.stringify(invokeBody({ content: `@@ it's "quoted" é 😀` })));
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body);
    expect(body.requestId).toBe(response.headers['x-request-id']);
    expect(body.usage.inputTokens).toBe(Math.ceil(Buffer.byteLength(`@@ it's "quoted" é 😀`) / 4));
  });

  it('answers 429 with the budget and Retry-After', async () => {
    const response = await call(JSON.stringify(invokeBody({ costCenter: 'empty' })));
    expect(response.status).toBe(429);
    const body = JSON.parse(response.body);
    expect(body.error).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      requestId: response.headers['x-request-id'],
    });
    expect(Number(response.headers['Retry-After'])).toBe(body.error.retryAfterSeconds);
  });

  it.each([
    ['malformed JSON', '{"model":', 400, 'INVALID_REQUEST'],
    ['an unknown model', JSON.stringify(invokeBody({ model: 'gpt-4' })), 400, 'UNKNOWN_MODEL'],
    [
      'an unknown cost center',
      JSON.stringify(invokeBody({ costCenter: 'nobody' })),
      403,
      'UNKNOWN_COST_CENTER',
    ],
    [
      'a Bedrock access error',
      JSON.stringify(invokeBody({ content: '[[sim:error=AccessDeniedException]]' })),
      502,
      'MODEL_ERROR',
    ],
  ])('answers %s with %i %s', async (_name, body, status, code) => {
    const response = await call(body);
    expect(response.status).toBe(status);
    expect(JSON.parse(response.body).error.code).toBe(code);
  });

  it('answers 413 for a body over the limit', async () => {
    const response = await call(JSON.stringify(invokeBody({ content: 'x'.repeat(500) })), 300);
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body).error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});
