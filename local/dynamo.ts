import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { TABLE_INDEXES, TABLE_KEYS } from '../lambdas/shared/rules/table.ts';

export interface EmbeddedDynamo {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Start dynalite on a loopback port: in memory, or on disk under `path`. dynalite has no
 * transactions and no TTL expiry; the budget store needs neither.
 */
export async function startDynalite(options: { path?: string | undefined } = {}): Promise<EmbeddedDynamo> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Create the sentry's table unless it is there already (an on-disk store keeps it). */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        // The same keys and indexes as the deployed table (lib/constructs/budget-table.ts).
        AttributeDefinitions: [
          TABLE_KEYS.partitionKey,
          TABLE_KEYS.sortKey,
          ...TABLE_INDEXES.flatMap((index) =>
            'sortKey' in index ? [index.partitionKey, index.sortKey] : [index.partitionKey],
          ),
        ].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
        GlobalSecondaryIndexes: TABLE_INDEXES.map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            ...('sortKey' in index ? [{ AttributeName: index.sortKey, KeyType: 'RANGE' as const }] : []),
          ],
          Projection: { ProjectionType: index.projection },
        })),
        KeySchema: [
          { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error;
  }
  await waitUntilTableExists(
    { client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.2 },
    { TableName: tableName },
  );
}
