import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import type { LocalStack } from '../../local/stack.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/dynamo-proxy.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { budgetForWorstCases, counters } from '../helpers/local-runtime.ts';
import { logLines, post, startTestStack } from '../helpers/local-stack.ts';

/** Real HTTP against the local stack on a loopback port. */
let stack: LocalStack;
let proxy: FaultProxy;

beforeAll(async () => {
  stack = await startTestStack({
    bedrockTimeoutMs: 1_500,
    interposeDynamo: async (endpoint) => {
      proxy = await startFaultProxy(endpoint);
      return proxy.endpoint;
    },
  });
  await stack.runtime.store.putBudget({
    costCenter: 'broke',
    period: 'daily',
    limitPico: 1n,
    alertThresholds: [],
  });
});
afterAll(async () => {
  await stack?.close();
  await proxy?.close();
});

describe('POST /v1/invoke', () => {
  it('answers 200 with the DESIGN section 3 body and x-request-id', async () => {
    const { status, headers, json } = await post(stack, invokeBody({ content: 'Hello', maxTokens: 64 }));
    expect(status).toBe(200);
    expect(headers.get('x-request-id')).toBe(json.requestId);
    expect(Object.keys(json).sort()).toEqual(
      ['budget', 'cost', 'latencyMs', 'model', 'output', 'requestId', 'stopReason', 'tags', 'usage'].sort(),
    );
    expect(json.usage).toEqual({
      inputTokens: 2,
      outputTokens: 32,
      totalTokens: 34,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
    });
    // 2 input tokens at $0.00006/1K and 32 output tokens at $0.00024/1K.
    expect(json.cost).toEqual({ usd: 0.0000078, priceVersion: '2026-12-01' });
    expect(Object.keys(json.budget).sort()).toEqual(
      [
        'costCenter',
        'limitUsd',
        'limitUsdDecimal',
        'period',
        'periodKey',
        'remainingUsd',
        'remainingUsdDecimal',
        'reservedTokens',
        'reservedUsd',
        'reservedUsdDecimal',
        'resetsAt',
        'spentTokens',
        'spentUsd',
        'spentUsdDecimal',
      ].sort(),
    );
    expect(usdToPico(json.budget.spentUsdDecimal)).toBe(usdToPico(json.budget.spentUsd));
  });

  it('writes its metric and audit lines to the log file, without the prompt', async () => {
    const secret = 'the secret plan for the quarter';
    const { json } = await post(stack, invokeBody({ content: secret }));
    const lines = logLines(stack);
    const audit = lines.find((l) => l.message === 'audit' && l.audit.requestId === json.requestId);
    expect(audit?.audit).toMatchObject({
      decision: 'allowed',
      costUsd: json.cost.usd,
      tags: json.tags ? { costCenter: 'support' } : {},
    });
    expect(lines.some((l) => l._aws && l.CostUSD === json.cost.usd && l.CostCenter === 'support')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(secret);
  });

  it.each([
    ['malformed JSON', '{"model":', 400, 'INVALID_REQUEST'],
    ['an empty body', '', 400, 'INVALID_REQUEST'],
    ['a schema violation', { model: 'nova-lite' }, 400, 'INVALID_REQUEST'],
    ['an unknown model', invokeBody({ model: 'gpt-4o' }), 400, 'UNKNOWN_MODEL'],
    ['an unknown cost center', invokeBody({ costCenter: 'marketing' }), 403, 'UNKNOWN_COST_CENTER'],
    ['a spent budget', invokeBody({ costCenter: 'broke' }), 429, 'BUDGET_EXCEEDED'],
    [
      'persistent throttling',
      invokeBody({ content: '[[sim:error=ThrottlingException]]' }),
      503,
      'MODEL_THROTTLED',
    ],
    [
      'a Bedrock validation error',
      invokeBody({ content: '[[sim:error=ValidationException]]' }),
      502,
      'MODEL_ERROR',
    ],
    [
      'a model that does not answer in time',
      invokeBody({ content: '[[sim:latency_ms=3000]]' }),
      504,
      'MODEL_TIMEOUT',
    ],
  ])('answers %s with %s %s', async (_name, body, status, code) => {
    const response = await post(stack, body);
    expect(response.status).toBe(status);
    expect(response.json.error).toMatchObject({ code, requestId: response.headers.get('x-request-id') });
    expect(typeof response.json.error.message).toBe('string');
    if (status === 429 || status === 503) {
      expect(Number(response.headers.get('retry-after'))).toBe(response.json.error.retryAfterSeconds);
    }
  });

  it('answers INTERNAL_ERROR when the budget store fails, with a generic body and no Bedrock call', async () => {
    const before = stack.runtime.simulator?.stats.calls;
    proxy.failing = 'all';
    try {
      const response = await post(stack, invokeBody());
      expect(response.status).toBe(500);
      expect(response.json).toEqual({
        error: {
          code: 'INTERNAL_ERROR',
          message: 'Internal error.',
          requestId: response.headers.get('x-request-id'),
        },
      });
    } finally {
      proxy.failing = new Set();
    }
    expect(stack.runtime.simulator?.stats.calls).toBe(before);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const response = await post(stack, 'model=nova-lite', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([response.status, response.json.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect(response.headers.get('x-request-id')).toBe(response.json.error.requestId);
  });

  it('accepts application/json with a charset', async () => {
    const response = await post(stack, invokeBody(), {
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(response.status).toBe(200);
  });

  it('answers 413 for a body just over the 204,800-character limit and accepts one at it', async () => {
    // Three messages, each under the 100,000-character content limit, padding the body to size.
    const sized = (chars: number) => {
      const body = invokeBody({ content: 'x', maxTokens: 1 });
      (body.prompt as { messages: unknown[] }).messages = [
        { role: 'user', content: 'a'.repeat(90_000) },
        { role: 'assistant', content: 'b'.repeat(90_000) },
        { role: 'user', content: 'x' },
      ];
      const text = JSON.stringify(body);
      return text.replace('"content":"x"', `"content":"${'x'.repeat(chars - text.length + 1)}"`);
    };
    const under = await post(stack, sized(204_800));
    const over = await post(stack, sized(204_801));
    expect(under.status).toBe(200);
    expect([over.status, over.json.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
  });

  it('answers JSON 404 for other routes and 405 for other methods', async () => {
    const notFound = await post(stack, {}, { path: '/v1/other' });
    expect([notFound.status, notFound.json.error.code]).toEqual([404, 'NOT_FOUND']);
    const notAllowed = await post(stack, {}, { method: 'GET' });
    expect([notAllowed.status, notAllowed.json.error.code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
    expect(notAllowed.headers.get('allow')).toBe('POST');
  });
});

describe('the Bedrock simulator directives, end to end', () => {
  it('output_tokens sets the usage and the cost', async () => {
    const { json } = await post(
      stack,
      invokeBody({ content: 'Hi [[sim:output_tokens=100]]', maxTokens: 500 }),
    );
    expect(json.usage.outputTokens).toBe(100);
    expect(json.stopReason).toBe('end_turn');
  });

  it('output_tokens above max_tokens stops at max_tokens', async () => {
    const { json } = await post(
      stack,
      invokeBody({ content: 'Hi [[sim:output_tokens=100]]', maxTokens: 10 }),
    );
    expect([json.usage.outputTokens, json.stopReason]).toEqual([10, 'max_tokens']);
  });

  it('latency_ms delays the model', async () => {
    const { json } = await post(stack, invokeBody({ content: 'Hi [[sim:latency_ms=300]]' }));
    expect(json.latencyMs.model).toBeGreaterThanOrEqual(300);
  });

  it('error with times fails only the first attempts', async () => {
    const before = stack.runtime.simulator?.stats.calls ?? 0;
    const response = await post(
      stack,
      invokeBody({ content: 'Hi [[sim:error=ServiceUnavailableException;times=1]]' }),
    );
    expect(response.status).toBe(200);
    expect((stack.runtime.simulator?.stats.calls ?? 0) - before).toBe(2);
  });
});

describe('the hard cap over HTTP', () => {
  it('never spends past the limit with 200 concurrent requests against a budget for about 50', async () => {
    const body = invokeBody({
      costCenter: 'http-capped',
      model: 'claude-opus',
      content: 'Draft the memo. [[sim:output_tokens=300]]',
      maxTokens: 300,
    });
    const limitPico = await budgetForWorstCases(stack.runtime, body, 50n);

    const responses = await Promise.all(Array.from({ length: 200 }, () => post(stack, body)));

    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status !== 200);
    expect(new Set(refused.map((r) => `${r.status} ${r.json.error.code}`))).toEqual(
      new Set(['429 BUDGET_EXCEEDED']),
    );
    expect(ok.length).toBeGreaterThanOrEqual(50);
    const final = await counters(stack.runtime, 'http-capped');
    expect(final.spentPico).toBeLessThanOrEqual(limitPico);
    expect(final.reservedPico).toBe(0n);
    expect(final.spentPico).toBe(ok.reduce((sum, r) => sum + usdToPico(r.json.cost.usd), 0n));
  });
});

describe('the catalog over HTTP', () => {
  it('refuses a retired alias with 400 MODEL_RETIRED naming its replacement, before any charge', async () => {
    const before = stack.runtime.simulator?.stats.calls ?? 0;
    const { status, json } = await post(stack, invokeBody({ model: 'claude-3-5-haiku' }));
    expect(status).toBe(400);
    expect(json.error).toMatchObject({
      code: 'MODEL_RETIRED',
      message: expect.stringContaining("use 'claude-haiku'"),
      details: [{ path: 'model', message: expect.stringContaining('replacement: claude-haiku') }],
    });
    expect(stack.runtime.simulator?.stats.calls ?? 0).toBe(before);
  });

  it('answers a Legacy model with a warning that names its end of life', async () => {
    const { status, json } = await post(stack, invokeBody({ model: 'claude-sonnet-4-5', maxTokens: 16 }));
    expect(status).toBe(200);
    expect(json.warnings).toEqual([expect.stringContaining('end of life on 2027-04-08')]);
    const { json: active } = await post(stack, invokeBody({ model: 'claude-sonnet', maxTokens: 16 }));
    expect(active.warnings).toBeUndefined();
  });

  it('has a simulator that, like Bedrock, serves no model outside the catalog', async () => {
    const { BedrockRuntimeClient, ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
    const client = new BedrockRuntimeClient({
      endpoint: stack.runtime.simulator?.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const converse = (modelId: string) =>
      client.send(new ConverseCommand({ modelId, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }));
    await expect(converse('anthropic.claude-v2:0')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(converse('global.anthropic.claude-sonnet-4-6')).resolves.toMatchObject({
      stopReason: 'end_turn',
    });
    client.destroy();
  });
});

describe('the local gateway as a server', () => {
  it('survives a client that resets before sending anything, and one that splits the HTTP/2 preface', async () => {
    const net = await import('node:net');
    const port = Number(new URL(stack.url).port);
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.resetAndDestroy();
        resolve();
      });
      socket.on('error', () => undefined);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The AWS SDK speaks HTTP/2: its preface in two packets still reaches the HTTP/2 server.
    const { BedrockRuntimeClient, ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
    const client = new BedrockRuntimeClient({
      endpoint: stack.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const answer = await client.send(
      new ConverseCommand({
        modelId: 'nova-lite',
        messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
        requestMetadata: { costCenter: 'support', applicationId: 'docs-helper', environment: 'production' },
      }),
    );
    expect(answer.stopReason).toBe('end_turn');
    client.destroy();
    const split = net.connect(port, '127.0.0.1');
    split.on('error', () => undefined);
    await new Promise((resolve) => split.once('connect', resolve));
    split.write('PRI * HT');
    await new Promise((resolve) => setTimeout(resolve, 50));
    split.write('TP/2.0\r\n\r\nSM\r\n\r\n');
    // An HTTP/2 server answers the preface with its SETTINGS frame (type 4); HTTP/1.1 would say "HTTP/1.1 400".
    const first = await new Promise<Buffer>((resolve) => split.once('data', resolve));
    expect(first[3]).toBe(4);
    split.destroy();
  });
});
