import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ESCAPED_BODY } from '../../lib/api/templates.ts';
import { STATE_LIMIT_BYTES } from '../../lib/config/schema.ts';
import { invokeRoute } from '../../local/invoke-route.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { escapeJavaScript } from '../../local/vtl.ts';
import { type LambdaHandler, LocalWorkflow } from '../../local/workflow.ts';
import type { FunctionName } from '../../state-machines/definition.ts';
import { exampleConfig } from '../helpers/fixtures.ts';
import { startTestRuntime } from '../helpers/local-runtime.ts';

/**
 * Step Functions fails an execution whose state passes 262,144 bytes with
 * States.DataLimitExceeded, which no Catch handles: a 500 where the client deserved a 400.
 */
let runtime: LocalRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime();
});
afterAll(() => runtime?.close());

const { maxBodyBytes, maxMessages } = exampleConfig().limits;

/**
 * A body as large as the gateway lets through, in characters and escaped, whose every message
 * has an invalid role: the most problems, and the longest error, next to the largest raw body.
 */
function invalidBodyAtTheLimits(): string {
  const build = (quotes: number, plain: number) => {
    const pad = '"'.repeat(quotes) + 'a'.repeat(plain);
    const messages = Array.from({ length: maxMessages }, (_, i) => ({
      role: 'robot',
      content: i < 3 ? pad : 'x',
    }));
    return JSON.stringify({
      model: 'nova-lite',
      prompt: { messages, parameters: { max_tokens: 0, temperature: 7, top_p: 7, top_k: 0 } },
      tags: { applicationId: 'docs-helper', costCenter: 'support', environment: 'production' },
    });
  };
  const base = build(0, 0);
  // In the raw body a quote takes 2 characters (\") and escaped 4 (\\\"); a letter 1 and 1.
  const roomRaw = maxBodyBytes - base.length;
  const roomEscaped = MAX_ESCAPED_BODY - escapeJavaScript(base).length;
  const quotes = Math.floor((roomEscaped - roomRaw) / 6);
  const plain = Math.floor((roomRaw - 6 * quotes) / 3);
  return build(quotes, plain);
}

/** The authorizer's context of an API key bound to as many names as the admin API allows, each as long as a tag may be. */
function widestKeyBinding(): Record<string, string> {
  const names = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, i) => `${prefix}${i}`.padEnd(64, 'x')).join(',');
  return {
    keyId: 'k'.repeat(16),
    costCenters: names('cc', 50),
    applicationIds: names('app', 50),
    environments: names('env', 20),
  };
}

describe('the 256 KB state limit', () => {
  it('fails an execution whose state passes the limit with States.DataLimitExceeded, past every Catch', async () => {
    const released: unknown[] = [];
    const handlers: Record<FunctionName, LambdaHandler> = {
      'validate-request': async (input) => ({ ...input, padding: 'x'.repeat(STATE_LIMIT_BYTES) }),
      'claim-idempotency-key': async () => ({}),
      'reserve-budget': async () => ({}),
      'invoke-model': async () => ({}),
      'settle-usage': async () => ({}),
      'handle-failure': async (input) => {
        released.push(input);
        return { code: 'INTERNAL_ERROR', body: '{}' };
      },
    };
    const workflow = new LocalWorkflow(handlers);

    const result = await workflow.run({ requestId: 'r', receivedAt: Date.now(), body: '{}' });

    expect(result).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(released).toEqual([]);
  });

  it('answers 400 INVALID_REQUEST to an invalid body as large as the gateway lets through, from the widest API key', async () => {
    const body = invalidBodyAtTheLimits();
    expect(body.length).toBeLessThanOrEqual(maxBodyBytes);
    expect(body.length).toBeGreaterThan(maxBodyBytes - 10);
    expect(escapeJavaScript(body).length).toBeLessThanOrEqual(MAX_ESCAPED_BODY);
    expect(escapeJavaScript(body).length).toBeGreaterThan(MAX_ESCAPED_BODY - 10);

    const response = await invokeRoute(
      runtime.workflow,
      {
        body,
        requestId: randomUUID(),
        requestTimeEpoch: Date.now(),
        headers: { 'Idempotency-Key': 'k'.repeat(255) },
        authorizer: widestKeyBinding(),
      },
      maxBodyBytes,
    );

    expect(response.status).toBe(400);
    const error = JSON.parse(response.body).error;
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.details).toHaveLength(20);
  });
});
