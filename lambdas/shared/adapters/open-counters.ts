import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CounterKey, IdleCounter, StaleReservation } from '../rules/budget.ts';
import { n, reservationsOf, SHARDS } from '../rules/budget-items.ts';
import { OPEN_INDEX } from '../rules/table.ts';
import type { CounterItems } from './counter-items.ts';
import { allItems } from './dynamo.ts';

/**
 * The sparse index of counters that may hold reservations. The sweeper reads it to find holds
 * older than a Lambda can live, and takes a counter off it once nothing is held.
 */
export class OpenCounters {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #items: CounterItems;

  constructor(client: DynamoDBClient, table: string, items: CounterItems) {
    this.#client = client;
    this.#table = table;
    this.#items = items;
  }

  async findStaleReservations(heldBefore: Date): Promise<{ stale: StaleReservation[]; idle: IdleCounter[] }> {
    const open = await allItems(this.#client, {
      kind: 'query',
      TableName: this.#table,
      IndexName: OPEN_INDEX.name,
      KeyConditionExpression: '#o = :o',
      ExpressionAttributeNames: { '#o': OPEN_INDEX.partitionKey },
      ExpressionAttributeValues: { ':o': { S: OPEN_INDEX.value } },
    });
    const stale: StaleReservation[] = [];
    const idle: IdleCounter[] = [];
    for (const entry of open) {
      const key = { pk: entry.pk?.S ?? '', sk: entry.sk?.S ?? '' };
      const item = await this.#items.get(key);
      if (!item) continue;
      const markers = reservationsOf(item);
      const shards = item[SHARDS]?.N;
      if (markers.length === 0) idle.push(shards === undefined ? key : { ...key, shards: Number(shards) });
      for (const marker of markers) if (marker.heldSince < heldBefore) stale.push({ key, ...marker });
    }
    return { stale, idle };
  }

  async forgetIdleCounter(key: CounterKey): Promise<void> {
    // Refused when a reservation came in since the read: the counter stays on the index.
    await this.#items.update(key, {
      update: 'REMOVE #o',
      condition: 'reservedPico = :zero AND reservedTokens = :zero',
      names: { '#o': OPEN_INDEX.partitionKey },
      values: { ':zero': n(0) },
      readOnFailure: false,
    });
  }
}
