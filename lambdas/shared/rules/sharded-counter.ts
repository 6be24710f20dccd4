import type { BudgetDefinition, BudgetStore, CounterFigures, CounterKey, ShardPin } from './budget.ts';
import { sumFigures } from './shards.ts';
import { keys } from './table.ts';

/**
 * Reading a budget's period counter, one item or several shards. The period's shard count is
 * pinned on its first shard's item, so a reader reads that item first and the others only when
 * the period is sharded.
 */

/** Each sharded period's pin, as this process (a Lambda container) last read it, and when. */
const pinned = new Map<string, { pin: ShardPin; at: number }>();
const MAX_REMEMBERED = 1_000;

const idOf = (key: CounterKey) => `${key.pk}\u0000${key.sk}`;

/**
 * A period's pin as this process read it within {@link RECENT_READING_MS}: the count never
 * changes within a period, but the peak limits may rise, so an older reading is read again.
 */
export function knownPin(home: CounterKey, now: number): ShardPin | undefined {
  const kept = pinned.get(idOf(home));
  return kept && now - kept.at < RECENT_READING_MS ? kept.pin : undefined;
}

/** Remember a period's pin, so the requests of the next second start from it. */
export function rememberPin(home: CounterKey, pin: ShardPin, now: number): void {
  if (pinned.size >= MAX_REMEMBERED) pinned.clear();
  pinned.set(idOf(home), { pin, at: now });
}

/** The keys of a period counter's shards, the first shard first. */
export const shardKeys = (budget: BudgetDefinition, periodKey: string, count: number): CounterKey[] =>
  Array.from({ length: count }, (_, shard) => keys.counter(budget, periodKey, shard));

/** A period counter as one set of figures (its shards summed), and each shard's. */
export interface CounterReading {
  figures: CounterFigures;
  shards: CounterFigures[];
}

/**
 * A budget's figures for a period: one consistent read of its first shard, and when the period
 * is sharded one BatchGetItem of the others, summed.
 */
export async function readCounter(
  store: Pick<BudgetStore, 'getCounter' | 'getCounters'>,
  budget: BudgetDefinition,
  periodKey: string,
): Promise<CounterReading> {
  const home = await store.getCounter(keys.counter(budget, periodKey));
  const count = home.shards ?? 1;
  if (count <= 1) return { figures: home, shards: [home] };
  const rest = await store.getCounters(shardKeys(budget, periodKey, count).slice(1));
  const shards = [home, ...rest];
  return { figures: sumFigures(shards), shards };
}

/**
 * How old a sharded counter's reading may be where exactness is not needed: soft limits
 * (policies), the budget figures an answer shows, and the alert check after a settle.
 */
export const RECENT_READING_MS = 1_000;

/** Sharded readings this process made lately, for {@link recentReading}. */
const recent = new Map<string, { at: number; reading: CounterReading }>();

/**
 * {@link readCounter}, except that a sharded counter read in the last `maxAgeMs` by this
 * process is answered from that reading, so that a hot budget's shards are read about once a
 * second per Lambda container, not once a request. An unsharded counter is always read (one
 * item).
 */
export async function recentReading(
  store: Pick<BudgetStore, 'getCounter' | 'getCounters'>,
  budget: BudgetDefinition,
  periodKey: string,
  now: number,
  maxAgeMs: number,
): Promise<CounterReading> {
  const id = idOf(keys.counter(budget, periodKey));
  const kept = recent.get(id);
  if (kept && now - kept.at < maxAgeMs) return kept.reading;
  const reading = await readCounter(store, budget, periodKey);
  if (reading.shards.length > 1) {
    if (recent.size >= MAX_REMEMBERED) recent.clear();
    recent.set(id, { at: now, reading });
  }
  return reading;
}

/**
 * {@link recentReading} with one shard's figures as a write just left them: the sum, fresh for
 * that shard, and kept as this process's reading, so its own writes never lag in it.
 */
export async function recentReadingWith(
  store: Pick<BudgetStore, 'getCounter' | 'getCounters'>,
  budget: BudgetDefinition,
  periodKey: string,
  now: number,
  maxAgeMs: number,
  shard: { index: number; figures: CounterFigures },
): Promise<CounterReading> {
  const before = await recentReading(store, budget, periodKey, now, maxAgeMs);
  const shards = before.shards.map((figures, index) => (index === shard.index ? shard.figures : figures));
  const reading = { figures: sumFigures(shards), shards };
  const id = idOf(keys.counter(budget, periodKey));
  const kept = recent.get(id);
  if (kept) recent.set(id, { at: kept.at, reading });
  return reading;
}
