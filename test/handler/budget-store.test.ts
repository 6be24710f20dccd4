import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoBudgetStore } from '../../lambdas/shared/adapters/budget-store.ts';

const ddb = mockClient(DynamoDBClient);
const store = new DynamoBudgetStore(new DynamoDBClient({ region: 'us-east-1' }), 'table');
const key = { pk: 'CC#support', sk: 'PERIOD#2026-11' };
const amount = { pico: 100n, tokens: 10 };
const at = new Date('2026-11-23T00:00:00Z');
const conditionFailed = () => new ConditionalCheckFailedException({ message: 'failed', $metadata: {} });

beforeEach(() => ddb.reset());

describe('DynamoBudgetStore.reserve', () => {
  it('holds the amount with one conditional update bounded by limit minus the amount', async () => {
    ddb
      .on(UpdateItemCommand)
      .resolves({ Attributes: { allocatedPico: { N: '100' }, reservedPico: { N: '100' } } });
    const result = await store.reserve(key, 'req-1', amount, { pico: 1000n }, at);
    expect(result.reserved).toBe(true);
    const input = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe(
      'attribute_not_exists(#r) AND (attribute_not_exists(allocatedPico) OR allocatedPico <= :maxP)',
    );
    expect(input?.ExpressionAttributeValues?.[':maxP']).toEqual({ N: '900' });
    expect(input?.ExpressionAttributeNames).toEqual({ '#r': 'r#req-1' });
  });

  it('reports a refusal with the current figures when the condition fails', async () => {
    ddb.on(UpdateItemCommand).rejects(conditionFailed());
    ddb.on(GetItemCommand).resolves({ Item: { spentPico: { N: '950' }, allocatedPico: { N: '950' } } });
    const result = await store.reserve(key, 'req-1', amount, { pico: 1000n }, at);
    expect(result.reserved).toBe(false);
    expect(result.figures.spentPico).toBe(950n);
  });

  it('treats a retried reservation that already went through as reserved', async () => {
    ddb.on(UpdateItemCommand).rejects(conditionFailed());
    ddb.on(GetItemCommand).resolves({ Item: { 'r#req-1': { M: {} }, allocatedPico: { N: '100' } } });
    expect((await store.reserve(key, 'req-1', amount, { pico: 1000n }, at)).reserved).toBe(true);
  });

  it('refuses without writing when the amount alone is over the limit', async () => {
    ddb.on(GetItemCommand).resolves({});
    expect(
      (await store.reserve(key, 'req-1', { pico: 2000n, tokens: 1 }, { pico: 1000n }, at)).reserved,
    ).toBe(false);
    expect(ddb.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });

  it('fails closed with a StoreError when DynamoDB fails', async () => {
    ddb.on(UpdateItemCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));
    await expect(store.reserve(key, 'req-1', amount, { pico: 1000n }, at)).rejects.toMatchObject({
      name: 'StoreError',
      code: 'INTERNAL_ERROR',
    });
  });
});

describe('DynamoBudgetStore.settle', () => {
  it('releases the reservation and adds the real usage in one conditional update', async () => {
    ddb.on(UpdateItemCommand).resolves({ Attributes: { spentPico: { N: '40' } } });
    const result = await store.settle(key, 'req-1', amount, { pico: 40n, tokens: 4 });
    expect(result.settled).toBe(true);
    const input = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe('attribute_exists(#r)');
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ':dp': { N: '-60' },
      ':rp': { N: '-100' },
      ':sp': { N: '40' },
      ':dt': { N: '-6' },
    });
  });

  it('changes nothing the second time (idempotent per requestId)', async () => {
    ddb.on(UpdateItemCommand).rejects(conditionFailed());
    ddb.on(GetItemCommand).resolves({ Item: { spentPico: { N: '40' } } });
    const result = await store.settle(key, 'req-1', amount, { pico: 40n, tokens: 4 });
    expect(result).toMatchObject({ settled: false, figures: { spentPico: 40n } });
  });
});

describe('DynamoBudgetStore and the response cache', () => {
  const cacheKey = { pk: 'CC#support', sk: 'CACHE#abc' };

  it('reads a cached answer with one eventually consistent GetItem (half a read unit)', async () => {
    ddb.on(GetItemCommand).resolves({ Item: { answer: { S: '{"a":1}' }, expiresAt: { N: '1795400000' } } });

    const found = await store.getCachedAnswer(cacheKey);

    expect(found).toEqual({ answer: '{"a":1}', expiresAt: new Date(1_795_400_000_000) });
    const input = ddb.commandCalls(GetItemCommand)[0]?.args[0].input;
    expect(input?.ConsistentRead).toBeUndefined();
    expect(input?.Key).toEqual({ pk: { S: 'CC#support' }, sk: { S: 'CACHE#abc' } });
  });

  it('finds nothing where no answer is kept', async () => {
    ddb.on(GetItemCommand).resolves({});
    expect(await store.getCachedAnswer(cacheKey)).toBeUndefined();
  });

  it('keeps an answer with expiresAt in epoch seconds, the table TTL attribute', async () => {
    ddb.on(PutItemCommand).resolves({});

    await store.putCachedAnswer(cacheKey, '{"a":1}', new Date(1_795_400_000_500));

    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input.Item).toEqual({
      pk: { S: 'CC#support' },
      sk: { S: 'CACHE#abc' },
      answer: { S: '{"a":1}' },
      expiresAt: { N: '1795400001' },
    });
  });
});
