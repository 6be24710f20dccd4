import type { Period } from './period.ts';
import type { CachePolicy } from './response-cache.ts';
import type { SystemPromptUse } from './system-prompts.ts';

/** Who a budget applies to: a cost center, or one application inside it. */
export interface BudgetScope {
  costCenter: string;
  applicationId?: string | undefined;
}

/** A budget definition, as stored. Amounts in pico-USD. */
export interface BudgetDefinition extends BudgetScope {
  period: Period;
  limitPico?: bigint | undefined;
  limitTokens?: number | undefined;
  alertThresholds: number[];
  /**
   * `clamp`: a request whose worst case does not fit runs with a smaller `max_tokens`, down to
   * `minOutputTokens`, when that fits. Absent: it is refused.
   */
  fit?: 'clamp' | undefined;
  /** The least `max_tokens` a clamped request keeps (with `fit: "clamp"`). */
  minOutputTokens?: number | undefined;
  /** Requests and worst-case tokens per UTC minute. */
  rateLimits?: RateLimits | undefined;
  /** Soft limits, checked in order before the hard cap. */
  policies?: BudgetPolicy[] | undefined;
  /** The response cache: answers kept this long and served again, charged nothing. Absent: off. */
  cache?: CachePolicy | undefined;
  /**
   * The request rate the budget is sized for: its counter is split into `shards` items, derived
   * from it (see `shardsFor`). Absent: one item.
   */
  expectedRequestsPerSecond?: number | undefined;
  /** How many items the period counter is split into. Absent: one. */
  shards?: number | undefined;
  /** Who wrote it last: the config (at deploy or local start) or the admin API. */
  source?: 'config' | 'api' | undefined;
  updatedAt?: string | undefined;
}

/** The rate limits of a scope, per UTC minute. */
export interface RateLimits {
  requestsPerMinute?: number | undefined;
  tokensPerMinute?: number | undefined;
}

/** Which rate limit refused a request. */
export type RateLimitName = keyof RateLimits;

/** A soft limit: at or above a utilization, serve a cheaper model or refuse some models. */
export type BudgetPolicy =
  | { atUtilization: number; action: 'downgrade'; from: string; to: string }
  | { atUtilization: number; action: 'deny'; models: string[] };

/** The UTC minute a rate window covers: `2026-11-23T10:04`. */
export function windowMinute(at: Date): string {
  return at.toISOString().slice(0, 16);
}

/** Whole seconds until the next UTC minute's window, at least 1 (for `Retry-After`). */
export function secondsUntilNextWindow(at: Date): number {
  return Math.max(1, Math.ceil((60_000 - (at.getTime() % 60_000)) / 1000));
}

/** The figures of one rate window (one scope, one UTC minute). */
export interface WindowFigures {
  requests: number;
  tokens: number;
}

/** The counters of one budget scope for one period. `allocated = spent + reserved`. */
export interface CounterFigures {
  spentPico: bigint;
  reservedPico: bigint;
  allocatedPico: bigint;
  spentTokens: number;
  reservedTokens: number;
  allocatedTokens: number;
  /** Alert thresholds already sent this period. */
  alerted: number[];
  /**
   * The period's shard count, as pinned on the counter item by the period's first write
   * (absent: an item never written, or written before counters were sharded).
   */
  shards?: number | undefined;
  /**
   * A sharded period sent through its first shard (see `shards.ts`): the funnel's token, on the
   * first shard only, one per funnel.
   */
  funnel?: string | undefined;
  /** When that funnel began (epoch milliseconds, the funneling process's clock). */
  funnelSince?: number | undefined;
  /** The limits of the request that began it (`UNLIMITED` for none). */
  funnelLimits?: PeakLimits | undefined;
  /** Read for a request (`getCounters`): whether it holds a reservation on this counter. */
  holding?: boolean | undefined;
}

export const ZERO_FIGURES: CounterFigures = {
  spentPico: 0n,
  reservedPico: 0n,
  allocatedPico: 0n,
  spentTokens: 0,
  reservedTokens: 0,
  allocatedTokens: 0,
  alerted: [],
};

export interface CounterKey {
  pk: string;
  sk: string;
}

/** An amount held against a budget. */
export interface Amount {
  pico: bigint;
  tokens: number;
}

/** One day's usage of one (cost center, application, environment, model). */
export interface UsageAggregate {
  day: string;
  costCenter: string;
  applicationId: string;
  environment: string;
  modelId: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheWriteInputTokens: number;
  costPico: bigint;
  /** Requests a rate limit refused (they are in no other count). */
  rateLimited?: number | undefined;
  /** Requests a policy served by a cheaper model (`modelId` is the served one). */
  downgrades?: number | undefined;
  /** Requests answered from the response cache (in `requests` too, charged nothing). */
  cacheHits?: number | undefined;
  /** What the cache hits would have cost, in pico-USD. */
  savedPico?: bigint | undefined;
  /** The answered requests' max_tokens, summed (for the advisor: budget reserved, never spent). */
  maxTokens?: number | undefined;
  /** How many answers used each tenth of their max_tokens (index 0: under 10%). */
  outputShareTenths?: number[] | undefined;
  /** Which of the cost center's usage partitions the write goes to (see `usageShardOf`); 0 when absent. */
  shard?: number | undefined;
}

/** What a reservation marker records besides its amount, so a sweeper can account for it. */
export interface HoldDetail {
  applicationId: string;
  environment: string;
  modelId: string;
  /** The output tokens of the worst case (the rest of `amount.tokens` is input). */
  outputTokens: number;
}

/** A counter on the open index that holds nothing any more, and its period's pinned shard count. */
export interface IdleCounter extends CounterKey {
  shards?: number | undefined;
}

/** A reservation whose execution should long be over. */
export interface StaleReservation {
  key: CounterKey;
  requestId: string;
  amount: Amount;
  heldSince: Date;
  /** Absent on markers written before markers kept it. */
  detail?: HoldDetail | undefined;
}

/**
 * The limits a sharded period has run under, the highest of each; `UNLIMITED` when it ran
 * without one. As limits given to `pinShards`: absent is no limit.
 */
export interface PeakLimits {
  pico?: bigint | undefined;
  tokens?: number | undefined;
}

/** A peak limit of a period that ran without that limit. */
export const UNLIMITED = -1;

/**
 * A period's shard count as pinned on its first shard, its peak limits, and whether a lowered
 * limit has sent it through the first shard (for the rest of the period: see `shards.ts`).
 */
export interface ShardPin {
  count: number;
  peak: PeakLimits;
  /** The token of the funnel the period is in, if any. */
  funnel?: string | undefined;
}

/**
 * What a write to a shard requires of its item: the pinned count; and `funnel`, this funnel's
 * token (the item must carry it) or false (the item must carry none).
 */
export interface ShardWrite {
  count: number;
  funnel?: string | false | undefined;
  /**
   * False: on a refusal, do not read the item for its figures (the caller reads every shard
   * next); the figures answered are then none.
   */
  readOnRefusal?: false | undefined;
}

/** The budget store: single-item conditional writes only (no transactions, no TTL). */
export interface BudgetStore {
  /** The cost center's budget and, when asked, the application's, in one round trip. */
  getBudgets(scope: BudgetScope): Promise<{ costCenter?: BudgetDefinition; application?: BudgetDefinition }>;
  putBudget(budget: BudgetDefinition): Promise<void>;
  /** Delete a budget; deleting a cost center's also deletes its applications' budgets. */
  deleteBudget(scope: BudgetScope): Promise<boolean>;
  listBudgets(): Promise<BudgetDefinition[]>;
  /**
   * Hold `amount` against a counter unless that would take it past `max`. Idempotent per
   * requestId: reserving again for a request that holds a reservation changes nothing. With
   * `shards`, the period's shard count as pinned: the item must carry it or be new (see
   * `shards.ts`), and is marked with it; with `funnel`, the funnel token it must carry (or
   * none, with false).
   */
  reserve(
    key: CounterKey,
    requestId: string,
    amount: Amount,
    max: { pico?: bigint | undefined; tokens?: number | undefined },
    at: Date,
    detail?: HoldDetail,
    shards?: ShardWrite,
  ): Promise<{ reserved: boolean; figures: CounterFigures }>;
  /**
   * Pin the period's shard count on its first shard's item unless one is pinned already (an item
   * written before counters were sharded counts as one), and raise the highest limits the period
   * has run under to `limits` where they are higher (an absent limit raises it to `UNLIMITED`).
   * Returns the pin.
   */
  pinShards(key: CounterKey, count: number, limits?: PeakLimits): Promise<ShardPin>;
  /**
   * Send a sharded period through its first shard, if the peaks stored there show `limits`
   * lowered (below a peak, or set where the period ran without one): the new funnel's token, or
   * the one already there. Undefined when the stored peaks show no lowering.
   */
  funnel(key: CounterKey, limits: PeakLimits, now: number): Promise<string | undefined>;
  /**
   * Take the funnel `token` off its first shard, with these peak limits, if the shard still
   * holds no more than `firstShare`. True when done.
   */
  unfunnel(key: CounterKey, token: string, limits: PeakLimits, firstShare: PeakLimits): Promise<boolean>;
  /**
   * Several counters' figures in one consistent read (at most 100); with a request ID, whether
   * that request holds a reservation on each.
   */
  getCounters(keys: CounterKey[], requestId?: string): Promise<CounterFigures[]>;
  /**
   * Return whatever the request holds on this counter, charging nothing, from the marker itself
   * (so a caller that never learnt what was reserved can still release it). Idempotent.
   */
  release(key: CounterKey, requestId: string): Promise<{ released: boolean; figures: CounterFigures }>;
  /**
   * Count a request and its worst-case tokens in a rate window unless that would take it past a
   * limit. Idempotent per requestId. The window item expires (TTL) at `expiresAt`.
   */
  reserveWindow(
    key: CounterKey,
    requestId: string,
    tokens: number,
    limits: RateLimits,
    expiresAt: Date,
  ): Promise<{ reserved: boolean; figures: WindowFigures }>;
  /**
   * Correct a request's count on a rate window from its worst case (`heldTokens`) to what it
   * used, or, with `usedTokens` undefined, uncount it. Idempotent per requestId.
   */
  settleWindow(
    key: CounterKey,
    requestId: string,
    heldTokens: number,
    usedTokens: number | undefined,
  ): Promise<boolean>;
  /**
   * Release the request's reservation and add what it really used. Idempotent per requestId:
   * only the first call for a reservation changes the counters.
   */
  settle(
    key: CounterKey,
    requestId: string,
    reserved: Amount,
    used: Amount,
  ): Promise<{ settled: boolean; figures: CounterFigures }>;
  getCounter(key: CounterKey): Promise<CounterFigures>;
  /** A rate window's figures (zero for a window nobody used). */
  getWindow(key: CounterKey): Promise<WindowFigures>;
  /** Record that a threshold's alert is sent for this period; true for the one caller that records it. */
  markAlert(key: CounterKey, threshold: number): Promise<boolean>;
  addUsage(usage: UsageAggregate): Promise<void>;
  /**
   * Reservations held since before `heldBefore`, on the counters the open index lists; and
   * those counters that hold nothing any more (`idle`).
   */
  findStaleReservations(heldBefore: Date): Promise<{ stale: StaleReservation[]; idle: IdleCounter[] }>;
  /** Take an idle counter off the open index, unless a reservation came in meanwhile. */
  forgetIdleCounter(key: CounterKey): Promise<void>;
  /** A cached answer (its JSON text) and when it expires, expired or not: the caller checks. */
  getCachedAnswer(key: CounterKey): Promise<{ answer: string; expiresAt: Date } | undefined>;
  /** Keep an answer until `expiresAt` (the table's TTL removes it after). */
  putCachedAnswer(key: CounterKey, answer: string, expiresAt: Date): Promise<void>;
  /** One more request sending a system prompt worth caching, by its hash (never its text). */
  addSystemPromptUse(use: SystemPromptUse & { day: string; shard?: number | undefined }): Promise<void>;
  /** A cost center's system prompt uses for a period or a day, one per prompt and day. */
  querySystemPrompts(costCenter: string, period: string): Promise<SystemPromptUse[]>;
  /** A cost center's usage aggregates for a period (`2026-11`) or a day (`2026-11-23`). */
  queryUsage(costCenter: string, period: string): Promise<UsageAggregate[]>;
}

/** How far through its limits a scope is: the larger of the USD and token shares (0 when unlimited). */
export function utilization(
  budget: Pick<BudgetDefinition, 'limitPico' | 'limitTokens'>,
  figures: CounterFigures,
): number {
  const shares = [
    budget.limitPico ? Number((figures.spentPico * 1_000_000n) / budget.limitPico) / 1_000_000 : 0,
    budget.limitTokens ? figures.spentTokens / budget.limitTokens : 0,
  ];
  return Math.max(...shares);
}

/** The thresholds crossed by spending that have not been alerted yet this period. */
export function thresholdsToAlert(budget: BudgetDefinition, figures: CounterFigures): number[] {
  const used = utilization(budget, figures);
  return budget.alertThresholds.filter((t) => used >= t && !figures.alerted.includes(t));
}
