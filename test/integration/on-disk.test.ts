import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoBudgetStore } from '../../lambdas/shared/adapters/budget-store.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import { ensureTable, startDynalite } from '../../local/dynamo.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

describe('the embedded DynamoDB on disk (npm start -- --data-dir DIR)', () => {
  it('keeps budgets and counters across restarts, and starts again on an existing table', async () => {
    const path = mkdtempSync(join(tmpdir(), 'cost-sentry-data-'));
    const counter = keys.costCenterCounter('support', '2026-11');

    const first = await startDynalite({ path });
    const client1 = new DynamoDBClient({ endpoint: first.endpoint, region: 'us-east-1', credentials });
    await ensureTable(client1, 'cost-sentry');
    const store1 = new DynamoBudgetStore(client1, 'cost-sentry');
    await store1.putBudget({
      costCenter: 'support',
      period: 'monthly',
      limitPico: 1000n,
      alertThresholds: [0.8],
    });
    await store1.reserve(counter, 'req-1', { pico: 100n, tokens: 10 }, { pico: 1000n }, new Date());
    await store1.settle(counter, 'req-1', { pico: 100n, tokens: 10 }, { pico: 40n, tokens: 4 });
    client1.destroy();
    await first.close();

    const second = await startDynalite({ path });
    const client2 = new DynamoDBClient({ endpoint: second.endpoint, region: 'us-east-1', credentials });
    await ensureTable(client2, 'cost-sentry');
    const store2 = new DynamoBudgetStore(client2, 'cost-sentry');
    expect((await store2.getBudgets({ costCenter: 'support' })).costCenter).toMatchObject({
      limitPico: 1000n,
      alertThresholds: [0.8],
    });
    expect(await store2.getCounter(counter)).toMatchObject({
      spentPico: 40n,
      reservedPico: 0n,
      spentTokens: 4,
    });
    client2.destroy();
    await second.close();
  });
});
