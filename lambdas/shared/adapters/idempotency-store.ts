import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { IdempotencyRecord, IdempotencyStore } from '../rules/idempotency.ts';
import { failClosed, type Item } from './dynamo.ts';

const keyOf = (scope: string, key: string): Item => ({
  pk: { S: `IDEM#${scope}#${key}` },
  sk: { S: 'IDEM' },
});

function recordOf(item: Item): IdempotencyRecord {
  return {
    requestId: item.requestId?.S ?? '',
    bodyHash: item.bodyHash?.S ?? '',
    status: item.status?.S === 'COMPLETED' ? 'COMPLETED' : 'IN_PROGRESS',
    response: item.response?.S,
    errorCode: item.errorCode?.S,
    createdAt: Number(item.createdAt?.N ?? 0),
    expiresAt: Number(item.expiresAt?.N ?? 0),
  };
}

/**
 * Idempotency records in the sentry's table. `expiresAt` (epoch seconds) is the table's TTL
 * attribute on AWS; expiry is also checked in every condition, so it holds where TTL does not
 * run (the embedded DynamoDB).
 */
export class DynamoIdempotencyStore implements IdempotencyStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async claim(scope: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord | undefined> {
    try {
      await failClosed(
        this.#client.send(
          new PutItemCommand({
            TableName: this.#table,
            Item: {
              ...keyOf(scope, key),
              requestId: { S: record.requestId },
              bodyHash: { S: record.bodyHash },
              status: { S: 'IN_PROGRESS' },
              createdAt: { N: String(record.createdAt) },
              expiresAt: { N: String(record.expiresAt) },
            },
            // Free or expired only. A claim whose request died is never taken over: it may have
            // been charged, and a takeover would charge the retry again.
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
            ExpressionAttributeValues: { ':now': { N: String(Math.floor(record.createdAt / 1000)) } },
          }),
        ),
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await failClosed(
        this.#client.send(
          new GetItemCommand({ TableName: this.#table, Key: keyOf(scope, key), ConsistentRead: true }),
        ),
      );
      // Gone between the two calls: a claim that just expired; treat it as held, the client retries.
      return existing.Item ? recordOf(existing.Item) : { ...record, requestId: '', status: 'IN_PROGRESS' };
    }
  }

  async complete(
    scope: string,
    key: string,
    requestId: string,
    response: string,
    errorCode?: string,
  ): Promise<void> {
    await this.#ownerOnly(
      this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: keyOf(scope, key),
          UpdateExpression: `SET #status = :done, #response = :response${errorCode ? ', errorCode = :code' : ''}`,
          ConditionExpression: 'requestId = :me',
          ExpressionAttributeNames: { '#status': 'status', '#response': 'response' },
          ExpressionAttributeValues: {
            ':done': { S: 'COMPLETED' },
            ':response': { S: response },
            ':me': { S: requestId },
            ...(errorCode ? { ':code': { S: errorCode } } : {}),
          },
        }),
      ),
    );
  }

  async release(scope: string, key: string, requestId: string): Promise<void> {
    await this.#ownerOnly(
      this.#client.send(
        new DeleteItemCommand({
          TableName: this.#table,
          Key: keyOf(scope, key),
          ConditionExpression: 'requestId = :me AND #status = :progress',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':me': { S: requestId }, ':progress': { S: 'IN_PROGRESS' } },
        }),
      ),
    );
  }

  /** A write that only the claim's owner may make; someone else's claim is left alone. */
  async #ownerOnly(call: Promise<unknown>): Promise<void> {
    try {
      await failClosed(call);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
