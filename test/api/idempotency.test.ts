import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIdempotencyStore } from '../../lambdas/shared/adapters/idempotency-store.ts';
import { LOCAL_TABLE } from '../../local/runtime.ts';
import type { LocalStack } from '../../local/stack.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { counters } from '../helpers/local-runtime.ts';
import { post, startTestStack } from '../helpers/local-stack.ts';

/** Idempotency-Key over real HTTP: a client that retries is charged once. */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

const calls = () => stack.runtime.simulator?.stats.calls ?? 0;
const withKey = (key: string, body: unknown) => post(stack, body, { headers: { 'idempotency-key': key } });

describe('Idempotency-Key', () => {
  it('replays the first response for the same key and body, without calling Bedrock or charging again', async () => {
    const body = invokeBody({ content: 'Pay me once' });
    const before = { calls: calls(), spent: (await counters(stack.runtime, 'support')).spentPico };
    const first = await withKey('order-1', body);
    const second = await withKey('order-1', body);

    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.json).toEqual(first.json);
    expect(calls() - before.calls).toBe(1);
    const spent = (await counters(stack.runtime, 'support')).spentPico - before.spent;
    expect(spent).toBe(BigInt(Math.round(first.json.cost.usd * 1e12)));
  });

  it('answers 422 IDEMPOTENCY_KEY_REUSED for the same key with another body', async () => {
    await withKey('order-2', invokeBody({ content: 'first' }));
    const { status, json } = await withKey('order-2', invokeBody({ content: 'second' }));
    expect([status, json.error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
  });

  it('answers 409 IDEMPOTENCY_IN_PROGRESS while the first request still runs', async () => {
    const body = invokeBody({ content: 'slow [[sim:latency_ms=2000]]' });
    const first = withKey('order-3', body);
    // Wait until the first request holds its reservation (so it has claimed the key), on any machine load.
    for (
      let waited = 0;
      (await counters(stack.runtime, 'support')).reservedPico === 0n && waited < 1500;
      waited += 20
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const second = await withKey('order-3', body);
    expect([second.status, second.json.error.code]).toEqual([409, 'IDEMPOTENCY_IN_PROGRESS']);
    expect((await first).status).toBe(200);
  });

  it('lets a retry run again after the first attempt failed', async () => {
    const failing = await withKey('order-4', invokeBody({ content: '[[sim:error=ValidationException]]' }));
    expect(failing.status).toBe(502);
    const retried = await withKey('order-4', invokeBody({ content: '[[sim:error=ValidationException]]' }));
    expect([retried.status, retried.json.error.code]).toEqual([502, 'MODEL_ERROR']);
    expect(retried.json.error.requestId).not.toBe(failing.json.error.requestId);
  });

  it('charges a timed-out request once: a retry with the same key replays its 504, without calling Bedrock or charging again', async () => {
    const body = invokeBody({ content: 'late [[sim:error=ModelTimeoutException]]' });
    const before = { calls: calls(), spent: (await counters(stack.runtime, 'support')).spentPico };
    const first = await withKey('order-6', body);
    const charged = (await counters(stack.runtime, 'support')).spentPico;
    const second = await withKey('order-6', body);

    expect([first.status, first.json.error.code]).toEqual([504, 'MODEL_TIMEOUT']);
    expect(charged).toBeGreaterThan(before.spent);
    expect(second.status).toBe(504);
    expect(second.json).toEqual(first.json);
    expect(second.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    expect(calls() - before.calls).toBe(1);
    expect((await counters(stack.runtime, 'support')).spentPico).toBe(charged);
  });

  it('treats requests without a key, or with different keys, as different requests', async () => {
    const body = invokeBody({ content: 'twice' });
    const before = calls();
    await post(stack, body);
    await post(stack, body);
    await withKey('order-5a', body);
    await withKey('order-5b', body);
    expect(calls() - before).toBe(4);
  });

  it('refuses a key that is not printable ASCII', async () => {
    const { status, json } = await withKey('has space', invokeBody());
    expect([status, json.error.details[0].path]).toEqual([400, 'headers.Idempotency-Key']);
  });

  it('forgets a key after 24 hours', async () => {
    const client = new DynamoDBClient({
      endpoint: stack.runtime.dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const store = new DynamoIdempotencyStore(client, LOCAL_TABLE);
    const long = Date.now() - 25 * 3600_000;
    const old = {
      requestId: 'old',
      bodyHash: 'h1',
      status: 'IN_PROGRESS' as const,
      createdAt: long,
      expiresAt: Math.floor(long / 1000) + 86_400,
    };
    expect(await store.claim('tests', 'expiring', old)).toBeUndefined();
    const now = Date.now();
    const fresh = {
      requestId: 'new',
      bodyHash: 'h2',
      status: 'IN_PROGRESS' as const,
      createdAt: now,
      expiresAt: Math.floor(now / 1000) + 86_400,
    };
    expect(await store.claim('tests', 'expiring', fresh)).toBeUndefined();
    client.destroy();
  });
});
