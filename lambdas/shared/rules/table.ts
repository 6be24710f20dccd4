import type { BudgetScope, CounterKey, UsageAggregate } from './budget.ts';
import type { SystemPromptUse } from './system-prompts.ts';

/**
 * The single table's layout: its key attributes, its secondary indexes and the key of every
 * item the sentry keeps in it.
 */

/** The single table's key attributes: the same in the CDK stack and the local stack. */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

/**
 * The registry: a sparse index over what platform teams list, budget definitions and API keys,
 * each under its own partition value, so listing them never reads counters or usage. (The index
 * and its attributes keep their first names, `budgets` and `budgetIndex`: renaming them would
 * rebuild the index of a deployed table.)
 */
export const REGISTRY_INDEX = {
  name: 'budgets',
  partitionKey: 'budgetIndex',
  sortKey: 'budgetName',
  value: 'BUDGET',
  keysValue: 'KEY',
} as const;

/**
 * A sparse index of the counters that may hold reservations. A reservation marks its counter;
 * the sweeper reads only this index and unmarks a counter it finds holding nothing, so a sweep
 * costs the same however large the table grows.
 */
export const OPEN_INDEX = { name: 'open-counters', partitionKey: 'openCounter', value: 'OPEN' } as const;

/** The table's secondary indexes: the CDK stack and the local stack both create exactly these. */
export const TABLE_INDEXES = [
  {
    name: REGISTRY_INDEX.name,
    partitionKey: REGISTRY_INDEX.partitionKey,
    sortKey: REGISTRY_INDEX.sortKey,
    projection: 'ALL',
  },
  { name: OPEN_INDEX.name, partitionKey: OPEN_INDEX.partitionKey, projection: 'KEYS_ONLY' },
] as const satisfies ReadonlyArray<{
  name: string;
  partitionKey: string;
  sortKey?: string;
  projection: 'ALL' | 'KEYS_ONLY';
}>;

const app = (scope: BudgetScope) => (scope.applicationId ? `APP#${scope.applicationId}#` : '');

/**
 * A cost center's partition key; shard `n` of a sharded counter (`S`) or of the usage items
 * (`U`) has its own partition, so their writes spread over partitions. Shard 0 is the cost
 * center's own partition, as before sharding.
 */
const partition = (costCenter: string, kind: 'S' | 'U' = 'S', shard = 0) =>
  shard === 0 ? `CC#${costCenter}` : `CC#${costCenter}#${kind}${shard}`;

/**
 * The single-table keys. A cost center's budget, its applications' budgets, their period
 * counters and their daily usage all share the cost center's partition.
 */
export const keys = {
  budget: (scope: BudgetScope): CounterKey => ({ pk: `CC#${scope.costCenter}`, sk: `${app(scope)}BUDGET` }),
  /** Shard `shard` of a scope's period counter (0: the first, and the only one when unsharded). */
  counter: (scope: BudgetScope, periodKey: string, shard = 0): CounterKey => ({
    pk: partition(scope.costCenter, 'S', shard),
    sk: `${app(scope)}PERIOD#${periodKey}`,
  }),
  /** A scope's rate window for one UTC minute (`2026-11-23T10:04`). */
  rateWindow: (scope: BudgetScope, minute: string): CounterKey => ({
    pk: `CC#${scope.costCenter}`,
    sk: `${app(scope)}RATE#${minute}`,
  }),
  /** A cached answer: its cost center's partition, the request's hash (see `cacheKey`). */
  cachedAnswer: (costCenter: string, hash: string): CounterKey => ({
    pk: `CC#${costCenter}`,
    sk: `CACHE#${hash}`,
  }),
  costCenterCounter: (costCenter: string, periodKey: string): CounterKey =>
    keys.counter({ costCenter }, periodKey),
  usage: (
    u: Pick<UsageAggregate, 'costCenter' | 'day' | 'applicationId' | 'environment' | 'modelId' | 'shard'>,
  ): CounterKey => ({
    pk: partition(u.costCenter, 'U', u.shard),
    sk: `USAGE#${u.day}#${u.applicationId}#${u.environment}#${u.modelId}`,
  }),
  /** Whose counter a key is, for which period, and which shard: the inverse of `counter`. */
  scopeOfCounter: (key: CounterKey): (BudgetScope & { periodKey: string; shard: number }) | undefined => {
    const cc = /^CC#([^#]+)(?:#S([1-9][0-9]*))?$/.exec(key.pk);
    const sk = /^(?:APP#(.+)#)?PERIOD#(.+)$/.exec(key.sk);
    if (!cc?.[1] || !sk?.[2]) return undefined;
    return {
      costCenter: cc[1],
      ...(sk[1] ? { applicationId: sk[1] } : {}),
      periodKey: sk[2],
      shard: Number(cc[2] ?? 0),
    };
  },
  /** The partition keys a cost center's usage items and system prompt counts spread over. */
  usagePartitions: (costCenter: string, shards: number): string[] =>
    Array.from({ length: shards }, (_, shard) => partition(costCenter, 'U', shard)),
  /** The sort key prefix of a period's usage (`2026-11` or `2026-11-23`). */
  usagePrefix: (period: string) => `USAGE#${period}`,
  /** One day's uses of one system prompt (by its hash) by one application and model. */
  systemPrompt: (
    u: Omit<SystemPromptUse, 'systemTokens' | 'requests'> & { day: string; shard?: number | undefined },
  ): CounterKey => ({
    pk: partition(u.costCenter, 'U', u.shard),
    sk: `SYSTEM#${u.day}#${u.applicationId}#${u.modelId}#${u.systemHash}`,
  }),
  /** The sort key prefix of a period's system prompt uses. */
  systemPromptPrefix: (period: string) => `SYSTEM#${period}`,
};
