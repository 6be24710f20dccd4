import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BudgetExceededError,
  InvalidRequestError,
  RateLimitedError,
} from '../../lambdas/shared/rules/errors.ts';
import { ENV } from '../../lambdas/shared/wiring/env.ts';
import { catalogOf } from '../../lib/config/schema.ts';
import type { LambdaHandler } from '../../local/workflow.ts';
import { captureJsonLines, emfDimensions, emfLines } from '../helpers/capture.ts';
import { exampleConfig } from '../helpers/fixtures.ts';

const ddb = mockClient(DynamoDBClient);
let settle: LambdaHandler;
let handleFailure: LambdaHandler;
let capture: ReturnType<typeof captureJsonLines>;

const PROMPT = 'a confidential prompt';
const USAGE = {
  inputTokens: 20,
  outputTokens: 40,
  totalTokens: 60,
  cacheReadInputTokens: 0,
  cacheWriteInputTokens: 0,
};
const COMPLETION = 'a confidential completion';
const tags = { applicationId: 'docs-helper', costCenter: 'support', environment: 'production' };
const state = {
  requestId: 'req-1',
  receivedAt: Date.parse('2026-11-23T10:00:00Z'),
  model: {
    alias: 'nova-lite',
    modelId: 'amazon.nova-lite-v1:0',
    invokeModelId: 'amazon.nova-lite-v1:0',
    maxOutputTokens: 4096,
    topK: 'nova',
  },
  prompt: { messages: [{ role: 'user', content: [{ text: PROMPT }] }], parameters: { maxTokens: 100 } },
  tags,
  estimate: {
    inputTokens: 61,
    outputTokens: 100,
    tokens: 161,
    costPico: '27660000',
    priceVersion: '2026-12-01',
  },
  reservation: {
    requestId: 'req-1',
    costPico: '27660000',
    tokens: 161,
    scopes: [
      {
        scope: 'costCenter',
        costCenter: 'support',
        pk: 'CC#support',
        sk: 'PERIOD#2026-11',
        period: 'monthly',
        periodKey: '2026-11',
        limitPico: '500000000000000',
        alertThresholds: [0.8, 1],
      },
    ],
  },
};
const causeOf = (error: Error) =>
  JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: [] });

beforeAll(async () => {
  process.env.AWS_REGION = 'us-east-1';
  process.env[ENV.catalog] = JSON.stringify(catalogOf(exampleConfig()));
  process.env[ENV.tableName] = 'table';
  process.env[ENV.bedrockTimeoutMs] = '1000';
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'CostSentry';
  settle = ((await import('../../lambdas/settle-usage/handler.ts')) as { handler: LambdaHandler }).handler;
  handleFailure = ((await import('../../lambdas/handle-failure/handler.ts')) as { handler: LambdaHandler })
    .handler;
});
beforeEach(() => {
  ddb.reset();
  ddb
    .on(UpdateItemCommand)
    .resolves({ Attributes: { spentPico: { N: '10000000' }, spentTokens: { N: '60' } } });
  capture = captureJsonLines();
});
afterEach(() => capture.restore());

describe('SettleUsage handler', () => {
  it('meters a response cache hit as CacheHits and SavedUSD, charged nothing, with the day aggregate only', async () => {
    const response = (await settle({
      ...state,
      // The answer a call of 20 input and 40 output tokens gave.
      cacheHit: {
        answer: { content: [{ text: COMPLETION }], stopReason: 'end_turn', usage: USAGE, latencyMs: 12 },
      },
    })) as { cost: { usd: number }; cache: unknown };

    expect(response.cost.usd).toBe(0);
    expect(response.cache).toEqual({ hit: true, savedUsd: 0.0000108 });
    const [emf] = emfLines(capture.lines());
    expect(emf).toMatchObject({ CacheHits: 1, SavedUSD: 0.0000108, CostUSD: 0, Invocations: 1 });
    expect(emf).not.toHaveProperty('InputTokens');
    const audit = capture.lines().find((l) => l.message === 'audit');
    expect(audit?.audit).toMatchObject({ cache: { hit: true, savedUsd: 0.0000108 }, costUsd: 0 });
    // No counter is touched: the one write is the day's usage aggregate.
    const writes = ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input.Key?.sk?.S);
    expect(writes).toEqual([expect.stringMatching(/^USAGE#2026-11-23#/)]);
  });

  it('emits the cost metrics in the three dimension sets finance queries, and one audit line', async () => {
    const response = (await settle({
      ...state,
      invocation: {
        output: { role: 'assistant', content: [{ text: COMPLETION }] },
        stopReason: 'end_turn',
        usage: {
          inputTokens: 20,
          outputTokens: 40,
          totalTokens: 60,
          cacheReadInputTokens: 0,
          cacheWriteInputTokens: 0,
        },
        latencyMs: 12,
      },
    })) as { cost: { usd: number } };

    expect(response.cost.usd).toBe(0.0000108); // 20 x 60,000 + 40 x 240,000 pico-USD
    const emfs = emfLines(capture.lines());
    expect(emfs).toHaveLength(1);
    const emf = emfs[0] ?? {};
    // Utilization rides in the same line under its own directive: per cost center only.
    const directives = (
      emf._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][]; Metrics: unknown[] }> }
    ).CloudWatchMetrics;
    expect(directives[1]).toEqual({
      Namespace: 'CostSentry',
      Dimensions: [['CostCenter']],
      Metrics: [{ Name: 'BudgetUtilization', Unit: 'Percent' }],
    });
    expect(directives[0]?.Metrics).not.toContainEqual(expect.objectContaining({ Name: 'BudgetUtilization' }));
    expect(emf).toMatchObject({ CostCenter: 'support', BudgetUtilization: 0 });
    expect(emfDimensions(emf ?? {})).toEqual([
      ['CostCenter'],
      ['CostCenter', 'ApplicationId', 'Environment'],
      ['ModelId'],
      ['service'],
    ]);
    expect(emf).toMatchObject({
      ...{ CostCenter: 'support', ModelId: 'amazon.nova-lite-v1:0' },
      CostUSD: 0.0000108,
      InputTokens: 20,
      OutputTokens: 40,
      Invocations: 1,
      ModelLatency: 12,
    });
    const audit = capture.lines().filter((l) => l.message === 'audit');
    expect(audit).toHaveLength(1);
    // Every field finance and audit need, and nothing a request does not have.
    expect(audit[0]?.audit).toEqual({
      requestId: 'req-1',
      timestamp: '2026-11-23T10:00:00.000Z',
      tags,
      modelId: 'amazon.nova-lite-v1:0',
      decision: 'allowed',
      usage: { inputTokens: 20, outputTokens: 40 },
      costUsd: 0.0000108,
      priceVersion: '2026-12-01',
      latencyMs: expect.objectContaining({ model: 12, total: expect.any(Number) }),
    });
    expect(Buffer.byteLength(JSON.stringify(audit[0]))).toBeLessThan(500);
    const written = JSON.stringify(capture.lines());
    expect(written).not.toContain(PROMPT);
    expect(written).not.toContain(COMPLETION);
  });
});

describe('HandleFailure handler', () => {
  it('counts a budget refusal by cost center and error code, with the public body as the cause', async () => {
    const refusal = new BudgetExceededError('does not fit', { costCenter: 'support' }, 60);
    const { reservation: _none, ...unreserved } = state;
    const failure = (await handleFailure({
      ...unreserved,
      error: { Error: refusal.name, Cause: causeOf(refusal) },
    })) as { code: string; body: string };

    expect(failure.code).toBe('BUDGET_EXCEEDED');
    expect(JSON.parse(failure.body)).toEqual({
      error: {
        code: 'BUDGET_EXCEEDED',
        message: 'does not fit',
        requestId: 'req-1',
        budget: { costCenter: 'support' },
        retryAfterSeconds: 60,
      },
    });
    const [emf] = emfLines(capture.lines());
    expect(emfDimensions(emf ?? {})).toContainEqual(['ErrorCode']);
    expect(emfDimensions(emf ?? {})).toContainEqual(['CostCenter']);
    expect(emf).toMatchObject({ BudgetRejections: 1, Errors: 1, ErrorCode: 'BUDGET_EXCEEDED' });
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  it('counts a rate limit refusal as RateLimited, by cost center', async () => {
    const refusal = new RateLimitedError('too many', 'requestsPerMinute', { costCenter: 'support' }, 12);
    const { reservation: _none, ...unreserved } = state;
    const failure = (await handleFailure({
      ...unreserved,
      error: { Error: refusal.name, Cause: causeOf(refusal) },
    })) as { code: string; body: string };

    expect(JSON.parse(failure.body).error).toMatchObject({
      code: 'RATE_LIMITED',
      limit: 'requestsPerMinute',
    });
    const [emf] = emfLines(capture.lines());
    expect(emfDimensions(emf ?? {})).toContainEqual(['CostCenter']);
    expect(emf).toMatchObject({ RateLimited: 1, Errors: 1, ErrorCode: 'RATE_LIMITED' });
  });

  it('keeps unvalidated tags out of the metric dimensions', async () => {
    const invalid = new InvalidRequestError('bad');
    await handleFailure({
      requestId: 'req-2',
      receivedAt: state.receivedAt,
      body: '{}',
      error: { Error: invalid.name, Cause: causeOf(invalid) },
    });
    const [emf] = emfLines(capture.lines());
    expect(emfDimensions(emf ?? {})).toEqual([['ErrorCode'], ['service']]);
  });

  it('answers a generic error for a fault that is not ours, charging the reservation in case Bedrock worked', async () => {
    const failure = (await handleFailure({
      ...state,
      error: { Error: 'Lambda.Unknown', Cause: 'stack trace with arn:aws:lambda:secret' },
    })) as { code: string; body: string };
    expect(failure.code).toBe('INTERNAL_ERROR');
    expect(failure.body).not.toContain('arn:');
    const update = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(update?.ExpressionAttributeValues).toMatchObject({
      ':rp': { N: '-27660000' },
      ':sp': { N: '27660000' },
    });
  });

  it.each(['ModelError', 'ModelThrottledError', 'ModelUnavailableError', 'DeadlineExceededError'])(
    'releases the reservation without a charge after %s (Bedrock billed nothing)',
    async (name) => {
      await handleFailure({
        ...state,
        error: { Error: name, Cause: causeOf(Object.assign(new Error('{"message":"m"}'), { name })) },
      });
      const update = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
      expect(update?.ExpressionAttributeValues).toMatchObject({
        ':rp': { N: '-27660000' },
        ':sp': { N: '0' },
      });
    },
  );

  it.each([
    ['while the model was being called', true, 'MODEL_TIMEOUT'],
    ['anywhere else', false, 'INTERNAL_ERROR'],
  ])('maps a state timeout %s to %s', async (_name, reserved, code) => {
    const { reservation, ...unreserved } = state;
    const failure = (await handleFailure({
      ...(reserved ? { ...unreserved, reservation } : unreserved),
      error: { Error: 'States.Timeout', Cause: 'timed out' },
    })) as { code: string };
    expect(failure.code).toBe(code);
  });

  it('charges the whole reservation after a model timeout, since Bedrock may have billed it', async () => {
    await handleFailure({ ...state, error: { Error: 'ModelTimeoutError', Cause: causeOf(new Error('x')) } });
    const update = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(update?.ExpressionAttributeValues).toMatchObject({
      ':rp': { N: '-27660000' },
      ':sp': { N: '27660000' },
    });
  });
});
