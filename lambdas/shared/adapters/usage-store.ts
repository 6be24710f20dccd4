import {
  type DynamoDBClient,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { CounterKey, UsageAggregate } from '../rules/budget.ts';
import { keyOf, systemPromptUpdate, systemPromptUseOf, usageOf, usageUpdate } from '../rules/budget-items.ts';
import { USAGE_SHARDS } from '../rules/shards.ts';
import type { SystemPromptUse } from '../rules/system-prompts.ts';
import { keys } from '../rules/table.ts';
import { failClosed, type Item, itemsUnder } from './dynamo.ts';

/**
 * A cost center's usage aggregates and system prompt counts. Each request writes to one of
 * `USAGE_SHARDS` partitions (picked from its ID), so one busy application on one model does not
 * make a single hot item; a read queries every partition and adds up what it finds per day.
 */
export class UsageStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  addUsage(usage: UsageAggregate): Promise<void> {
    return this.#add(keys.usage(usage), usageUpdate(usage));
  }

  async queryUsage(costCenter: string, period: string): Promise<UsageAggregate[]> {
    const found = await this.#query(costCenter, keys.usagePrefix(period));
    return merged(found, (item) => usageOf(item, costCenter), mergeUsage);
  }

  addSystemPromptUse(use: SystemPromptUse & { day: string; shard?: number | undefined }): Promise<void> {
    return this.#add(keys.systemPrompt(use), systemPromptUpdate(use));
  }

  /** One unconditional update that adds to a counting item (created on first use). */
  async #add(
    key: CounterKey,
    update: Pick<
      UpdateItemCommandInput,
      'UpdateExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<void> {
    await failClosed(
      this.#client.send(new UpdateItemCommand({ TableName: this.#table, Key: keyOf(key), ...update })),
    );
  }

  async querySystemPrompts(costCenter: string, period: string): Promise<SystemPromptUse[]> {
    const found = await this.#query(costCenter, keys.systemPromptPrefix(period));
    return merged(found, (item) => systemPromptUseOf(item, costCenter), mergeSystemPromptUse);
  }

  async #query(costCenter: string, prefix: string): Promise<Item[]> {
    const partitions = keys.usagePartitions(costCenter, USAGE_SHARDS);
    const pages = await Promise.all(
      partitions.map((pk) => itemsUnder(this.#client, this.#table, pk, prefix)),
    );
    return pages.flat();
  }
}

/** Items decoded and added up by sort key (the same day, application, model and so on), in sort key order. */
function merged<T>(items: Item[], decode: (item: Item) => T, add: (a: T, b: T) => T): T[] {
  const bySk = new Map<string, T>();
  for (const item of items) {
    const sk = item.sk?.S ?? '';
    const value = decode(item);
    const before = bySk.get(sk);
    bySk.set(sk, before === undefined ? value : add(before, value));
  }
  return [...bySk.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);
}

/** One day's usage found in several usage partitions, as one aggregate: every count summed. */
function mergeUsage(a: UsageAggregate, b: UsageAggregate): UsageAggregate {
  const tenths = (u: UsageAggregate) => u.outputShareTenths ?? Array.from({ length: 10 }, () => 0);
  return {
    ...a,
    requests: a.requests + b.requests,
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadInputTokens: a.cacheReadInputTokens + b.cacheReadInputTokens,
    cacheWriteInputTokens: a.cacheWriteInputTokens + b.cacheWriteInputTokens,
    costPico: a.costPico + b.costPico,
    rateLimited: (a.rateLimited ?? 0) + (b.rateLimited ?? 0),
    downgrades: (a.downgrades ?? 0) + (b.downgrades ?? 0),
    cacheHits: (a.cacheHits ?? 0) + (b.cacheHits ?? 0),
    savedPico: (a.savedPico ?? 0n) + (b.savedPico ?? 0n),
    maxTokens: (a.maxTokens ?? 0) + (b.maxTokens ?? 0),
    outputShareTenths: tenths(a).map((count, i) => count + (tenths(b)[i] ?? 0)),
  };
}

/** One day's uses of one system prompt found in several usage partitions, as one. */
const mergeSystemPromptUse = (a: SystemPromptUse, b: SystemPromptUse): SystemPromptUse => ({
  ...a,
  requests: a.requests + b.requests,
});
