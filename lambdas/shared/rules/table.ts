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
 * The single-table keys. A cost center's budget, its applications' budgets, their period
 * counters and their daily usage all share the cost center's partition.
 */
export const keys = {
  budget: (scope: BudgetScope): CounterKey => ({ pk: `CC#${scope.costCenter}`, sk: `${app(scope)}BUDGET` }),
  counter: (scope: BudgetScope, periodKey: string): CounterKey => ({
    pk: `CC#${scope.costCenter}`,
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
    u: Pick<UsageAggregate, 'costCenter' | 'day' | 'applicationId' | 'environment' | 'modelId'>,
  ): CounterKey => ({
    pk: `CC#${u.costCenter}`,
    sk: `USAGE#${u.day}#${u.applicationId}#${u.environment}#${u.modelId}`,
  }),
  /** Whose counter a key is, and for which period: the inverse of `counter`. */
  scopeOfCounter: (key: CounterKey): (BudgetScope & { periodKey: string }) | undefined => {
    const cc = /^CC#(.+)$/.exec(key.pk);
    const sk = /^(?:APP#(.+)#)?PERIOD#(.+)$/.exec(key.sk);
    if (!cc?.[1] || !sk?.[2]) return undefined;
    return { costCenter: cc[1], ...(sk[1] ? { applicationId: sk[1] } : {}), periodKey: sk[2] };
  },
  /** The sort key prefix of a period's usage (`2026-11` or `2026-11-23`). */
  usagePrefix: (period: string) => `USAGE#${period}`,
  /** One day's uses of one system prompt (by its hash) by one application and model. */
  systemPrompt: (u: Omit<SystemPromptUse, 'systemTokens' | 'requests'> & { day: string }): CounterKey => ({
    pk: `CC#${u.costCenter}`,
    sk: `SYSTEM#${u.day}#${u.applicationId}#${u.modelId}#${u.systemHash}`,
  }),
  /** The sort key prefix of a period's system prompt uses. */
  systemPromptPrefix: (period: string) => `SYSTEM#${period}`,
};
