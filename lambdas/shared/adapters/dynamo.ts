import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/client-dynamodb';
import { StoreError } from '../rules/errors.ts';
import { REGISTRY_INDEX } from '../rules/table.ts';

export type Item = Record<string, AttributeValue>;

/**
 * Await a store call. A failed condition passes through (the caller decides what it means);
 * any other failure becomes a StoreError, so the request is refused: fail closed.
 */
export async function failClosed<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw error;
    throw new StoreError({ cause: error });
  }
}

/** Every item of a query or scan, page after page. */
export async function allItems(
  client: DynamoDBClient,
  input: (QueryCommandInput & { kind: 'query' }) | (ScanCommandInput & { kind: 'scan' }),
): Promise<Item[]> {
  const { kind, ...params } = input;
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await failClosed(
      client.send(
        kind === 'query'
          ? new QueryCommand({ ...(params as QueryCommandInput), ExclusiveStartKey: start })
          : new ScanCommand({ ...(params as ScanCommandInput), ExclusiveStartKey: start }),
      ),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The items the registry index lists under one value: budget definitions, or API keys. */
export function registryItems(client: DynamoDBClient, table: string, value: string): Promise<Item[]> {
  return allItems(client, {
    kind: 'query',
    TableName: table,
    IndexName: REGISTRY_INDEX.name,
    KeyConditionExpression: '#p = :p',
    ExpressionAttributeNames: { '#p': REGISTRY_INDEX.partitionKey },
    ExpressionAttributeValues: { ':p': { S: value } },
  });
}

/** The items of one partition whose sort key starts with `prefix`, every page. */
export function itemsUnder(
  client: DynamoDBClient,
  table: string,
  pk: string,
  prefix: string,
): Promise<Item[]> {
  return allItems(client, {
    kind: 'query',
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': { S: pk }, ':prefix': { S: prefix } },
  });
}
