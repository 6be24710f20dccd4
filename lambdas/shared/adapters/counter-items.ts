import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { CounterKey } from '../rules/budget.ts';
import { keyOf, RESERVATION_PREFIX } from '../rules/budget-items.ts';
import { failClosed, type Item } from './dynamo.ts';

/** What one conditional update of a counter item sets, and when. */
export interface ReservationUpdate {
  update: string;
  condition: string;
  values: Item;
}

/**
 * Reads and conditional writes of one counter item: the budget counters and the rate windows
 * both keep each request's hold as a `#r` reservation attribute on a single item.
 */
export class CounterItems {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async get(key: CounterKey): Promise<Item | undefined> {
    const result = await failClosed(
      this.#client.send(
        new GetItemCommand({ TableName: this.#table, Key: keyOf(key), ConsistentRead: true }),
      ),
    );
    return result.Item;
  }

  /**
   * One conditional update of a counter item, `#r` naming the request's reservation attribute.
   * Returns the item after the update, or as it is when the condition failed.
   */
  async updateReservation(
    key: CounterKey,
    requestId: string,
    expression: ReservationUpdate,
  ): Promise<{ applied: boolean; item: Item | undefined }> {
    try {
      const result = await failClosed(
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: keyOf(key),
            UpdateExpression: expression.update,
            ConditionExpression: expression.condition,
            ExpressionAttributeNames: { '#r': RESERVATION_PREFIX + requestId },
            ExpressionAttributeValues: expression.values,
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return { applied: true, item: result.Attributes };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { applied: false, item: await this.get(key) };
    }
  }
}

/** Whether the request holds a reservation on the item: just applied, or applied by an earlier try. */
export function holds(applied: boolean, item: Item | undefined, requestId: string): boolean {
  return applied || item?.[RESERVATION_PREFIX + requestId] !== undefined;
}
