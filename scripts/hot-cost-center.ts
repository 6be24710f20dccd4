/**
 * One hot cost center, on paper: the load each DynamoDB partition takes at a steady request
 * rate, unsharded and with the shard count `shardsFor` derives, from the real item encodings
 * (counter items with their in-flight markers, usage aggregates) sized by DynamoDB's rules, and
 * DynamoDB's per-partition limits. `npm run cost-model` prints it.
 */
import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ALERT_PREFIX, keyOf, markerOf, n, SHARDS } from '../lambdas/shared/rules/budget-items.ts';
import { HOLD_SECONDS, shardsFor, USAGE_SHARDS } from '../lambdas/shared/rules/shards.ts';
import { keys, OPEN_INDEX } from '../lambdas/shared/rules/table.ts';
import { itemBytes, writeUnits } from './item-size.ts';

/**
 * What one DynamoDB partition serves a second ("Understanding DynamoDB warm throughput in
 * different scenarios", DynamoDB developer guide): 1,000 write units and 3,000 read units.
 */
export const PARTITION_LIMITS = { writeUnits: 1_000, readUnits: 3_000 } as const;

type Item = Record<string, AttributeValue>;

/** A counter item as the store writes it, holding `inFlight` markers of requests with typical tags. */
function counterItem(shard: number, inFlight: number): Item {
  const item: Item = {
    ...keyOf(keys.counter({ costCenter: 'customer-support' }, '2026-12', shard)),
    spentPico: n(12_345_678_901_234n),
    reservedPico: n(123_456_789_012n),
    allocatedPico: n(12_469_135_690_246n),
    spentTokens: n(987_654_321),
    reservedTokens: n(1_234_567),
    allocatedTokens: n(988_888_888),
    settledRequests: n(1_234_567),
    [SHARDS]: n(64),
    [OPEN_INDEX.partitionKey]: { S: OPEN_INDEX.value },
    [`${ALERT_PREFIX}0.8`]: n(1_764_633_600_000),
  };
  const detail = {
    applicationId: 'support-assistant',
    environment: 'production',
    modelId: 'global.anthropic.claude-sonnet-4-6',
    outputTokens: 1024,
  };
  for (let i = 0; i < inFlight; i++) {
    item[`r#${randomUUID()}`] = { M: markerOf({ pico: 21_000_000_000n, tokens: 3_024 }, new Date(), detail) };
  }
  return item;
}

/** A day's usage aggregate item for one application, environment and model. */
function usageItem(): Item {
  return {
    ...keyOf(
      keys.usage({
        costCenter: 'customer-support',
        day: '2026-12-01',
        applicationId: 'support-assistant',
        environment: 'production',
        modelId: 'global.anthropic.claude-sonnet-4-6',
        shard: 3,
      }),
    ),
    costCenter: { S: 'customer-support' },
    applicationId: { S: 'support-assistant' },
    environment: { S: 'production' },
    modelId: { S: 'global.anthropic.claude-sonnet-4-6' },
    day: { S: '2026-12-01' },
    ...Object.fromEntries(
      [
        'requests',
        'inputTokens',
        'outputTokens',
        'cacheReadInputTokens',
        'cacheWriteInputTokens',
        'costPico',
        'rateLimited',
        'downgrades',
        'cacheHits',
        'savedPico',
        'maxTokens',
        ...Array.from({ length: 10 }, (_, i) => `ot${i}`),
      ].map((name) => [name, n(123_456_789_012n)]),
    ),
  };
}

export interface HotLoad {
  requestsPerSecond: number;
  holdSeconds: number;
  shards: number;
  markersPerShard: number;
  counterBytes: number;
  unitsPerCounterWrite: number;
  /** Write units a second on one counter shard's partition: a reserve and a settle per request. */
  counterShardWriteUnits: number;
  /** Write units a second on the cost center's own partition: shard 0, and one usage partition. */
  homeWriteUnits: number;
  /** Read units a second on it: ReserveBudget's consistent read of the cost center's and the application's budgets. */
  homeReadUnits: number;
  /** Write units a second on one of the other usage partitions. */
  usagePartitionWriteUnits: number;
  fits: boolean;
}

/** The busiest partitions' load at `rps`, with `shards` counter shards and requests holding `holdSeconds`. */
export function hotLoad(rps: number, shards: number, holdSeconds = HOLD_SECONDS): HotLoad {
  const markersPerShard = Math.ceil((rps * holdSeconds) / shards);
  const counterBytes = itemBytes(counterItem(shards > 1 ? 1 : 0, markersPerShard));
  const unitsPerCounterWrite = writeUnits(counterBytes);
  const counterShardWriteUnits = ((2 * rps) / shards) * unitsPerCounterWrite;
  // A system prompt the advisor counts adds a second usage write of about the same size.
  const usageWritesPerRequest = 2;
  const usagePartitionWriteUnits =
    (rps / USAGE_SHARDS) * usageWritesPerRequest * writeUnits(itemBytes(usageItem()));
  const homeWriteUnits = counterShardWriteUnits + usagePartitionWriteUnits;
  // Two small definition items (the cost center's, the application's): one unit each, read
  // strongly consistent by every request.
  const homeReadUnits = 2 * rps;
  return {
    requestsPerSecond: rps,
    holdSeconds,
    shards,
    markersPerShard,
    counterBytes,
    unitsPerCounterWrite,
    counterShardWriteUnits,
    homeWriteUnits,
    homeReadUnits,
    usagePartitionWriteUnits,
    fits: homeWriteUnits <= PARTITION_LIMITS.writeUnits && homeReadUnits <= PARTITION_LIMITS.readUnits,
  };
}

/** The highest rate one cost center sustains with `shards` shards (whole requests a second). */
export function ceilingOf(shards: number, holdSeconds = HOLD_SECONDS): number {
  let lo = 1;
  let hi = 100_000;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (hotLoad(mid, shards, holdSeconds).fits) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The lines `npm run cost-model` prints. */
export function hotCostCenterLines(): string[] {
  const rps = 1_000;
  const shards = shardsFor(rps);
  const row = (load: HotLoad) =>
    `  ${String(load.shards).padStart(6)}  ${String(load.holdSeconds).padStart(6)}  ${String(load.markersPerShard).padStart(8)}` +
    `  ${String(load.counterBytes).padStart(10)}  ${String(load.unitsPerCounterWrite).padStart(11)}` +
    `  ${load.homeWriteUnits.toFixed(0).padStart(11)}  ${String(load.homeReadUnits).padStart(10)}` +
    `  ${load.fits ? 'yes' : 'no (throttled)'}`;
  return [
    `One hot cost center at ${rps} requests a second, on paper (a partition serves ${PARTITION_LIMITS.writeUnits} write and ${PARTITION_LIMITS.readUnits} read units a second):`,
    '  shards  hold s  markers  item bytes  units/write  busiest WCU  busiest RCU  fits',
    row(hotLoad(rps, 1)),
    row(hotLoad(rps, shards)),
    row(hotLoad(rps, shards, 6)),
    `  expectedRequestsPerSecond ${rps} derives ${shards} shards. Ceilings: unsharded ${ceilingOf(1)} requests/s, ` +
      `${shards} shards ${ceilingOf(shards)} requests/s (requests holding ${HOLD_SECONDS} s); ` +
      `${ceilingOf(shards, 6)} requests/s when answers take 6 s.`,
    `  The busiest partition is the cost center's own: a counter shard, one of ${USAGE_SHARDS} usage partitions, and every request's read of its budgets.`,
    `  Not counted: each Lambda container's read of every shard at most once a second (budget figures, alerts, policies),`,
    `  spread over the ${shards} shard partitions, and the read of every shard a request makes when its own shard is full.`,
  ];
}
