import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { ApiKeyRecord, KeyStore } from '../rules/api-keys.ts';
import { REGISTRY_INDEX } from '../rules/table.ts';
import { failClosed, type Item, registryItems } from './dynamo.ts';

const keyOf = (keyId: string): Item => ({ pk: { S: `KEY#${keyId}` }, sk: { S: 'KEY' } });
const strings = (values: string[]): AttributeValue => ({ L: values.map((v) => ({ S: v })) });

function recordOf(item: Item): ApiKeyRecord {
  const list = (name: string) => item[name]?.L?.map((v) => v.S ?? '');
  return {
    keyId: item.keyId?.S ?? '',
    secretHash: item.secretHash?.S ?? '',
    costCenters: list('costCenters') ?? [],
    applicationIds: list('applicationIds'),
    environments: list('environments'),
    description: item.description?.S,
    createdAt: item.createdAt?.S ?? '',
  };
}

/** API keys in the sentry's table; any failure refuses the call (fail closed). */
export class DynamoKeyStore implements KeyStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async putKey(record: ApiKeyRecord): Promise<void> {
    await failClosed(
      this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: {
            ...keyOf(record.keyId),
            [REGISTRY_INDEX.partitionKey]: { S: REGISTRY_INDEX.keysValue },
            [REGISTRY_INDEX.sortKey]: { S: record.keyId },
            keyId: { S: record.keyId },
            secretHash: { S: record.secretHash },
            costCenters: strings(record.costCenters),
            ...(record.applicationIds ? { applicationIds: strings(record.applicationIds) } : {}),
            ...(record.environments ? { environments: strings(record.environments) } : {}),
            ...(record.description ? { description: { S: record.description } } : {}),
            createdAt: { S: record.createdAt },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async getKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    const result = await failClosed(
      this.#client.send(
        new GetItemCommand({ TableName: this.#table, Key: keyOf(keyId), ConsistentRead: true }),
      ),
    );
    return result.Item ? recordOf(result.Item) : undefined;
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (await registryItems(this.#client, this.#table, REGISTRY_INDEX.keysValue)).map(recordOf);
  }

  async deleteKey(keyId: string): Promise<boolean> {
    const result = await failClosed(
      this.#client.send(
        new DeleteItemCommand({ TableName: this.#table, Key: keyOf(keyId), ReturnValues: 'ALL_OLD' }),
      ),
    );
    return result.Attributes !== undefined;
  }
}
