import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
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
