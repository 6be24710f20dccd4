import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type Amount,
  type BudgetDefinition,
  type BudgetStore,
  type CounterFigures,
  type CounterKey,
  keys,
  ZERO_FIGURES,
} from './budget.ts';
import { BudgetStoreError } from './errors.ts';
import type { Period } from './period.ts';

/** The attribute that holds one request's reservation on a counter item. */
export const RESERVATION_PREFIX = 'r#';

type Item = Record<string, AttributeValue>;

const n = (value: bigint | number): AttributeValue => ({ N: value.toString() });
const bigOf = (item: Item | undefined, name: string): bigint => BigInt(item?.[name]?.N ?? '0');
const numOf = (item: Item | undefined, name: string): number => Number(item?.[name]?.N ?? '0');

export function figuresOf(item: Item | undefined): CounterFigures {
  if (!item) return { ...ZERO_FIGURES };
  return {
    spentPico: bigOf(item, 'spentPico'),
    reservedPico: bigOf(item, 'reservedPico'),
    allocatedPico: bigOf(item, 'allocatedPico'),
    spentTokens: numOf(item, 'spentTokens'),
    reservedTokens: numOf(item, 'reservedTokens'),
    allocatedTokens: numOf(item, 'allocatedTokens'),
  };
}

/**
 * The DynamoDB budget store. Every counter change is one conditional UpdateItem on one item, so
 * it works on DynamoDB and on the embedded dynalite alike. Any store failure other than a failed
 * condition becomes a BudgetStoreError: the request is refused, never let through unmetered.
 */
export class DynamoBudgetStore implements BudgetStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async getBudget(costCenter: string): Promise<BudgetDefinition | undefined> {
    const item = await this.#get(keys.costCenterBudget(costCenter));
    if (!item) return undefined;
    return {
      costCenter,
      period: (item.period?.S ?? 'monthly') as Period,
      limitPico: item.limitPico?.N !== undefined ? BigInt(item.limitPico.N) : undefined,
      limitTokens: item.limitTokens?.N !== undefined ? Number(item.limitTokens.N) : undefined,
      alertThresholds: (item.alertThresholds?.L ?? []).map((v) => Number(v.N)),
    };
  }

  async putBudget(budget: BudgetDefinition): Promise<void> {
    const key = keys.costCenterBudget(budget.costCenter);
    await this.#guard(
      this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: budgetItem(key, budget, new Date().toISOString()),
        }),
      ),
    );
  }

  async reserve(
    key: CounterKey,
    requestId: string,
    amount: Amount,
    max: { pico?: bigint | undefined; tokens?: number | undefined },
    at: Date,
  ): Promise<{ reserved: boolean; figures: CounterFigures }> {
    const maxPico = max.pico === undefined ? undefined : max.pico - amount.pico;
    const maxTokens = max.tokens === undefined ? undefined : max.tokens - amount.tokens;
    if ((maxPico !== undefined && maxPico < 0n) || (maxTokens !== undefined && maxTokens < 0)) {
      return { reserved: false, figures: figuresOf(await this.#get(key)) };
    }
    const conditions = ['attribute_not_exists(#r)'];
    const values: Item = {
      ':r': { M: { p: n(amount.pico), t: n(amount.tokens), at: n(at.getTime()) } },
      ':p': n(amount.pico),
      ':t': n(amount.tokens),
    };
    if (maxPico !== undefined) {
      conditions.push('(attribute_not_exists(allocatedPico) OR allocatedPico <= :maxP)');
      values[':maxP'] = n(maxPico);
    }
    if (maxTokens !== undefined) {
      conditions.push('(attribute_not_exists(allocatedTokens) OR allocatedTokens <= :maxT)');
      values[':maxT'] = n(maxTokens);
    }
    const { applied, item } = await this.#updateReservation(key, requestId, {
      update: 'SET #r = :r ADD allocatedPico :p, reservedPico :p, allocatedTokens :t, reservedTokens :t',
      condition: conditions.join(' AND '),
      values,
    });
    // A retry of a reservation that already went through is not a refusal.
    return {
      reserved: applied || item?.[RESERVATION_PREFIX + requestId] !== undefined,
      figures: figuresOf(item),
    };
  }

  async settle(
    key: CounterKey,
    requestId: string,
    reserved: Amount,
    used: Amount,
  ): Promise<{ settled: boolean; figures: CounterFigures }> {
    const { applied, item } = await this.#updateReservation(key, requestId, {
      update:
        'REMOVE #r ADD allocatedPico :dp, reservedPico :rp, spentPico :sp, ' +
        'allocatedTokens :dt, reservedTokens :rt, spentTokens :st, settledRequests :one',
      condition: 'attribute_exists(#r)',
      values: {
        ':dp': n(used.pico - reserved.pico),
        ':rp': n(-reserved.pico),
        ':sp': n(used.pico),
        ':dt': n(used.tokens - reserved.tokens),
        ':rt': n(-reserved.tokens),
        ':st': n(used.tokens),
        ':one': n(1),
      },
    });
    return { settled: applied, figures: figuresOf(item) };
  }

  async getCounter(key: CounterKey): Promise<CounterFigures> {
    return figuresOf(await this.#get(key));
  }

  async #get(key: CounterKey): Promise<Item | undefined> {
    const result = await this.#guard(
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
  async #updateReservation(
    key: CounterKey,
    requestId: string,
    expression: { update: string; condition: string; values: Item },
  ): Promise<{ applied: boolean; item: Item | undefined }> {
    try {
      const result = await this.#guard(
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
      return { applied: false, item: await this.#get(key) };
    }
  }

  /** Await a store call; a failed condition passes through, any other failure fails closed. */
  async #guard<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw error;
      throw new BudgetStoreError({ cause: error });
    }
  }
}

const keyOf = (key: CounterKey): Item => ({ pk: { S: key.pk }, sk: { S: key.sk } });

/** A budget definition as a DynamoDB item (also what the deploy-time seed writes). */
export function budgetItem(key: CounterKey, budget: BudgetDefinition, updatedAt: string): Item {
  return {
    ...keyOf(key),
    costCenter: { S: budget.costCenter },
    period: { S: budget.period },
    ...(budget.limitPico !== undefined ? { limitPico: n(budget.limitPico) } : {}),
    ...(budget.limitTokens !== undefined ? { limitTokens: n(budget.limitTokens) } : {}),
    alertThresholds: { L: budget.alertThresholds.map((t) => n(t)) },
    updatedAt: { S: updatedAt },
  };
}
