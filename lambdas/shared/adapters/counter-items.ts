import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type CounterKey, type PeakLimits, type ShardPin, UNLIMITED } from '../rules/budget.ts';
import {
  FUNNEL_LIMITS,
  FUNNEL_SINCE,
  FUNNELED,
  keyOf,
  n,
  RESERVATION_PREFIX,
  SHARDS,
} from '../rules/budget-items.ts';
import { StoreError } from '../rules/errors.ts';
import { failClosed, type Item } from './dynamo.ts';

/** What one conditional update of a counter item sets, and when. */
export interface ReservationUpdate {
  update: string;
  condition: string;
  values: Item;
  /** Attribute names besides `#r`. */
  names?: Record<string, string> | undefined;
  /** Read the item again when the condition fails (default); false when the caller reads it anyway. */
  readOnFailure?: boolean | undefined;
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

  /** Several items in one consistent BatchGetItem (at most 100), in the order asked, undefined where none. */
  async getMany(wanted: CounterKey[]): Promise<Array<Item | undefined>> {
    if (wanted.length === 0) return [];
    const result = await failClosed(
      this.#client.send(
        new BatchGetItemCommand({
          RequestItems: { [this.#table]: { Keys: wanted.map(keyOf), ConsistentRead: true } },
        }),
      ),
    );
    // Throttled inside the batch: fail closed rather than sum half the shards.
    if (Object.keys(result.UnprocessedKeys ?? {}).length > 0) throw new StoreError();
    const found = new Map(
      (result.Responses?.[this.#table] ?? []).map((item) => [`${item.pk?.S}|${item.sk?.S}`, item]),
    );
    return wanted.map((key) => found.get(`${key.pk}|${key.sk}`));
  }

  /**
   * One conditional update of a counter item, `#r` naming the request's reservation attribute.
   * Returns the item after the update, or as it is when the condition failed.
   */
  updateReservation(
    key: CounterKey,
    requestId: string,
    expression: ReservationUpdate,
  ): Promise<{ applied: boolean; item: Item | undefined }> {
    return this.update(key, {
      ...expression,
      names: { '#r': RESERVATION_PREFIX + requestId, ...expression.names },
    });
  }

  /**
   * Pin a period's shard count on its first shard's item (see `BudgetStore.pinShards`): kept
   * and returned when pinned already, to any count; pinned now otherwise, unless the item is a
   * counter from before sharding, with spending, which counts as one. The peak limits are set
   * with the pin, and raised by a conditional write each when a limit is higher.
   */
  async pinShards(key: CounterKey, count: number, limits: PeakLimits = {}): Promise<ShardPin> {
    const peaks = PEAKS.map((p) => `, ${p.attribute} = if_not_exists(${p.attribute}, :${p.limit})`).join('');
    const { applied, item } = await this.update(key, {
      update: `SET #n = if_not_exists(#n, :n)${peaks}`,
      condition: count > 1 ? `attribute_exists(#n) OR (${UNSHARDED_NEVER_WRITTEN})` : undefined,
      names: { '#n': SHARDS },
      values: {
        ':n': n(count),
        ...Object.fromEntries(PEAKS.map((p) => [`:${p.limit}`, n(limits[p.limit] ?? UNLIMITED)])),
      },
    });
    if (!applied) return { count: 1, peak: {} };
    let pinned = item;
    for (const peak of PEAKS) {
      const limit = limits[peak.limit];
      const current = BigInt(pinned?.[peak.attribute]?.N ?? UNLIMITED);
      const unlimited = current === BigInt(UNLIMITED);
      // Raised, or removed: the shards may now fill to shares of a higher limit, or to any amount.
      // (From none to a limit, it is lowered.)
      const raise = limit === undefined ? !unlimited : !unlimited && current < BigInt(limit);
      if (!raise) continue;
      const to = n(limit ?? UNLIMITED);
      pinned = (
        await this.update(key, {
          update: `SET ${peak.attribute} = :v`,
          condition:
            limit === undefined
              ? `${peak.attribute} <> :v`
              : `${peak.attribute} < :v AND ${peak.attribute} <> :unlimited`,
          values: { ':v': to, ...(limit === undefined ? {} : { ':unlimited': n(UNLIMITED) }) },
        })
      ).item;
    }
    return {
      count: Number(pinned?.[SHARDS]?.N ?? count),
      peak: {
        pico: BigInt(pinned?.[PEAKS[0].attribute]?.N ?? UNLIMITED),
        tokens: Number(pinned?.[PEAKS[1].attribute]?.N ?? UNLIMITED),
      },
      ...(pinned?.[FUNNELED]?.S ? { funnel: pinned[FUNNELED].S } : {}),
    };
  }

  /**
   * Funnel a period (see `BudgetStore.funnel`): one conditional write on its first shard, which
   * checks the peaks stored there, not a reader's memory of them.
   */
  async funnel(key: CounterKey, limits: PeakLimits, now: number): Promise<string | undefined> {
    const below = PEAKS.filter((p) => limits[p.limit] !== undefined).map(
      (p) => `${p.attribute} = :unlimited OR ${p.attribute} > :${p.limit}`,
    );
    if (below.length === 0) return undefined;
    const token = randomUUID();
    const { applied, item } = await this.update(key, {
      update: `SET #f = :token, #since = :now, ${FUNNEL_LIMITS.pico} = :fp, ${FUNNEL_LIMITS.tokens} = :ft`,
      condition: `attribute_not_exists(#f) AND (${below.join(' OR ')})`,
      names: { '#f': FUNNELED, '#since': FUNNEL_SINCE },
      values: {
        ':token': { S: token },
        ':now': n(now),
        ':fp': n(limits.pico ?? UNLIMITED),
        ':ft': n(limits.tokens ?? UNLIMITED),
        ':unlimited': n(UNLIMITED),
        ...Object.fromEntries(
          PEAKS.filter((p) => limits[p.limit] !== undefined).map((p) => [
            `:${p.limit}`,
            n(limits[p.limit] ?? 0),
          ]),
        ),
      },
    });
    return applied ? token : item?.[FUNNELED]?.S;
  }

  /**
   * Take a funnel off its first shard (see `BudgetStore.unfunnel`): one conditional write on the
   * item the funneled writes go to, checking that it is the same funnel, so none of them can
   * slip in between.
   */
  async unfunnel(
    key: CounterKey,
    token: string,
    limits: PeakLimits,
    firstShare: PeakLimits,
  ): Promise<boolean> {
    const within = [
      ...(firstShare.pico !== undefined
        ? ['(attribute_not_exists(allocatedPico) OR allocatedPico <= :sp)']
        : []),
      ...(firstShare.tokens !== undefined
        ? ['(attribute_not_exists(allocatedTokens) OR allocatedTokens <= :st)']
        : []),
    ];
    const { applied } = await this.update(key, {
      update:
        `REMOVE #f, #since, ${FUNNEL_LIMITS.pico}, ${FUNNEL_LIMITS.tokens} ` +
        `SET ${PEAKS.map((p) => `${p.attribute} = :${p.limit}`).join(', ')}`,
      condition: ['#f = :token', ...within].join(' AND '),
      names: { '#f': FUNNELED, '#since': FUNNEL_SINCE },
      values: {
        ':token': { S: token },
        ...Object.fromEntries(PEAKS.map((p) => [`:${p.limit}`, n(limits[p.limit] ?? UNLIMITED)])),
        ...(firstShare.pico !== undefined ? { ':sp': n(firstShare.pico) } : {}),
        ...(firstShare.tokens !== undefined ? { ':st': n(firstShare.tokens) } : {}),
      },
    });
    return applied;
  }

  /** Set an attribute unless it is set already: true for the one caller that set it. */
  async setOnce(key: CounterKey, attribute: string, value: AttributeValue): Promise<boolean> {
    const { applied } = await this.update(key, {
      update: 'SET #a = :v',
      condition: 'attribute_not_exists(#a)',
      names: { '#a': attribute },
      values: { ':v': value },
      readOnFailure: false,
    });
    return applied;
  }

  /** One update of an item, conditional when a condition is given: the item after it, or as it is when the condition failed. */
  async update(
    key: CounterKey,
    expression: Omit<ReservationUpdate, 'condition'> & { condition?: string | undefined },
  ): Promise<{ applied: boolean; item: Item | undefined }> {
    try {
      const result = await failClosed(
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: keyOf(key),
            UpdateExpression: expression.update,
            ...(expression.condition ? { ConditionExpression: expression.condition } : {}),
            ...(expression.names ? { ExpressionAttributeNames: expression.names } : {}),
            ExpressionAttributeValues: expression.values,
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return { applied: true, item: result.Attributes };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { applied: false, item: expression.readOnFailure === false ? undefined : await this.get(key) };
    }
  }
}

/**
 * A shard write's condition on the period's pinned count: equal to the request's; or not pinned
 * yet and, for more than one shard, not an unsharded counter with spending from before sharding
 * (which counts as one).
 */
export function pinCondition(count: number): string {
  if (count === 1) return '(#n = :n OR attribute_not_exists(#n))';
  return `(#n = :n OR (attribute_not_exists(#n) AND ${UNSHARDED_NEVER_WRITTEN}))`;
}

/** The attributes on a period's first shard that keep its peak limits. */
const PEAKS = [
  { limit: 'pico', attribute: 'peakPico' },
  { limit: 'tokens', attribute: 'peakTokens' },
] as const;

/** A counter item no reservation was ever written to. */
const UNSHARDED_NEVER_WRITTEN =
  'attribute_not_exists(allocatedPico) AND attribute_not_exists(allocatedTokens)';

/** Whether the request holds a reservation on the item: just applied, or applied by an earlier try. */
export function holds(applied: boolean, item: Item | undefined, requestId: string): boolean {
  return applied || item?.[RESERVATION_PREFIX + requestId] !== undefined;
}
