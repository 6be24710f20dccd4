import type { BudgetDefinition, CounterFigures } from './budget.ts';

/**
 * Sharded counters. A budget's period counter may be split into N items, each under its own
 * partition key and each holding its share of the limit (limit/N, the remainder spread over the
 * first shards, so the shares sum to the limit exactly). Each shard is capped by its own
 * conditional write, so the sum of the shards never passes the limit, and each item's size and
 * write rate are N times smaller.
 *
 * A period's shard count is pinned on its first shard's item by the first write of the period,
 * so a budget whose `shards` changes mid-period keeps the old count until the period ends: a
 * shard created under another count would hold a share the others also count.
 */

/** At most this many shards: one BatchGetItem (100 keys) reads them all. */
export const MAX_SHARDS = 100;

/**
 * What one in-flight reservation marker adds to a counter item, in DynamoDB's item size: its
 * name (`r#` and a request ID) and a map of amount, time, application, environment, model and
 * output tokens, with an application ID of up to 32 characters and an environment of up to 16.
 * A unit test computes it from a real marker with a long model ID; longer tags make larger items.
 */
export const MARKER_BYTES = 160;
/** A counter item's own attributes (keys, figures, alert marks, index attribute). */
export const COUNTER_BASE_BYTES = 400;
/** The counter item size a shard count aims for: a write costs one unit per KB, so at most 4. */
export const SHARD_TARGET_BYTES = 4 * 1024;
/**
 * How long a request holds its marker, for the shard count: from ReserveBudget to SettleUsage,
 * the model's answer time and the steps around it. Longer answers make items larger, not wrong.
 */
export const HOLD_SECONDS = 2;

/** Markers one shard keeps at {@link SHARD_TARGET_BYTES}. */
export const MARKERS_PER_SHARD = Math.floor((SHARD_TARGET_BYTES - COUNTER_BASE_BYTES) / MARKER_BYTES);

/**
 * The shard count for an expected request rate: enough shards that the requests in flight
 * (`rate × HOLD_SECONDS`) keep the average item under {@link SHARD_TARGET_BYTES}. One when no rate is
 * given.
 */
export function shardsFor(requestsPerSecond: number | undefined): number {
  if (requestsPerSecond === undefined || requestsPerSecond <= 0) return 1;
  const inFlight = requestsPerSecond * HOLD_SECONDS;
  return Math.min(MAX_SHARDS, Math.max(1, Math.ceil(inFlight / MARKERS_PER_SHARD)));
}

/**
 * The share of a limit that shard `index` of `count` holds: the floor of limit/count, one more
 * for each of the first `limit mod count` shards.
 */
function shareOfLimit<T extends bigint | number>(limit: T, index: number, count: number): T {
  if (typeof limit === 'bigint') {
    const n = BigInt(count);
    return (limit / n + (BigInt(index) < limit % n ? 1n : 0n)) as T;
  }
  const whole = Math.floor(limit / count);
  return (whole + (index < limit % count ? 1 : 0)) as T;
}

/** The budget one shard enforces: its share of each limit. */
export function shareOf(budget: BudgetDefinition, index: number, count: number): BudgetDefinition {
  if (count <= 1) return budget;
  return {
    ...budget,
    limitPico: budget.limitPico === undefined ? undefined : shareOfLimit(budget.limitPico, index, count),
    limitTokens:
      budget.limitTokens === undefined ? undefined : shareOfLimit(budget.limitTokens, index, count),
  };
}

/** FNV-1a over a string: a cheap, stable spread of request IDs. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The shard a request tries first, from its ID: requests spread evenly over the shards. */
export const firstShardOf = (requestId: string, count: number): number =>
  count <= 1 ? 0 : hashOf(requestId) % count;

/** How many partitions the usage aggregates and system prompt counts of a cost center spread over. */
export const USAGE_SHARDS = 8;

/** The usage partition a request's aggregates go to. */
export const usageShardOf = (requestId: string): number => hashOf(`usage#${requestId}`) % USAGE_SHARDS;

/** The figures of a sharded counter: the shards' sums; the alerts sent are the first shard's. */
export function sumFigures(shards: readonly CounterFigures[]): CounterFigures {
  const [home] = shards;
  return {
    spentPico: shards.reduce((sum, f) => sum + f.spentPico, 0n),
    reservedPico: shards.reduce((sum, f) => sum + f.reservedPico, 0n),
    allocatedPico: shards.reduce((sum, f) => sum + f.allocatedPico, 0n),
    spentTokens: shards.reduce((sum, f) => sum + f.spentTokens, 0),
    reservedTokens: shards.reduce((sum, f) => sum + f.reservedTokens, 0),
    allocatedTokens: shards.reduce((sum, f) => sum + f.allocatedTokens, 0),
    alerted: [...(home?.alerted ?? [])],
    ...(home?.shards !== undefined ? { shards: home.shards } : {}),
  };
}
