import { outputShareTenth } from './advice.ts';
import {
  type Amount,
  type BudgetDefinition,
  type BudgetPolicy,
  type BudgetStore,
  type CounterFigures,
  type CounterKey,
  type RateLimits,
  ZERO_FIGURES,
} from './budget.ts';
import { type BudgetAlert, claimAlerts } from './budget-alerts.ts';
import { periodKey } from './period.ts';
import type { Usage } from './pricing.ts';
import type { CachePolicy } from './response-cache.ts';
import { RECENT_READING_MS, recentReadingWith } from './sharded-counter.ts';
import { usageShardOf } from './shards.ts';
import { keys } from './table.ts';
import type { Reservation, ReservedScope, Tags } from './types.ts';

/** A request's count on a scope's rate window: the window item and the worst-case tokens it holds. */
export interface WindowHold extends CounterKey {
  tokens: number;
}

/** How a downgrade policy changed the model a request is served by. */
export interface Routing {
  requested: string;
  served: string;
  reason: string;
}

/** A reserved scope with the budget's flow settings, so answers can show them. */
export interface BudgetReservedScope extends ReservedScope {
  rateLimits?: RateLimits | undefined;
  policies?: BudgetPolicy[] | undefined;
  fit?: 'clamp' | undefined;
  minOutputTokens?: number | undefined;
}

/** What ReserveBudget holds: the budget counters, the rate windows, and what it changed. */
export interface BudgetReservation extends Reservation {
  scopes: BudgetReservedScope[];
  windows?: WindowHold[] | undefined;
  routing?: Routing | undefined;
  /** What the client should know: a clamped `max_tokens`, a downgrade. */
  warnings?: string[] | undefined;
  /** The budget keeps answers and this request's may be kept: SettleUsage stores it under this policy. */
  cache?: CachePolicy | undefined;
}

/** The amount a reservation holds. */
export function reservedAmount(reservation: Reservation): Amount {
  return { pico: BigInt(reservation.costPico), tokens: reservation.tokens };
}

/**
 * The counter a budget holds reservations on for the period that contains `at`: its shard
 * `shard` of `shards` when the period is sharded.
 */
export function scopeOf(budget: BudgetDefinition, at: Date, shard = 0, shards = 1): BudgetReservedScope {
  const key = periodKey(budget.period, at);
  return {
    scope: budget.applicationId ? 'application' : 'costCenter',
    costCenter: budget.costCenter,
    ...(budget.applicationId ? { applicationId: budget.applicationId } : {}),
    ...keys.counter(budget, key, shard),
    ...(shards > 1 ? { shard, shards } : {}),
    period: budget.period,
    periodKey: key,
    limitPico: budget.limitPico?.toString(),
    limitTokens: budget.limitTokens,
    alertThresholds: budget.alertThresholds,
    ...(budget.rateLimits ? { rateLimits: budget.rateLimits } : {}),
    ...(budget.policies ? { policies: budget.policies } : {}),
    ...(budget.fit ? { fit: budget.fit } : {}),
    ...(budget.minOutputTokens !== undefined ? { minOutputTokens: budget.minOutputTokens } : {}),
  };
}

/**
 * Give back a request's counts on rate windows (`used` undefined: uncount it) or correct them
 * to its real tokens. Tries every window; the first failure is thrown after the rest ran.
 */
export async function settleWindows(
  store: BudgetStore,
  requestId: string,
  windows: readonly WindowHold[],
  usedTokens: number | undefined,
): Promise<void> {
  let failure: unknown;
  for (const window of windows) {
    try {
      await store.settleWindow(window, requestId, window.tokens, usedTokens);
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}

/**
 * Return whatever a request holds on these counters, charging nothing. Each release reads the
 * request's own marker, so it works when the caller never learnt what was reserved (a write
 * whose answer was lost). Tries every counter, all at once; a failure is thrown after the rest
 * ran.
 */
export async function releaseHolds(
  store: BudgetStore,
  requestId: string,
  counters: CounterKey[],
): Promise<number> {
  // At once: the failure handler may look on every shard of a sharded counter.
  const outcomes = await Promise.allSettled(counters.map((key) => store.release(key, requestId)));
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value.released).length;
}

/** The budget a reserved scope was held against. */
export function budgetOfScope(scope: BudgetReservedScope): BudgetDefinition {
  return {
    ...(scope.rateLimits ? { rateLimits: scope.rateLimits } : {}),
    ...(scope.policies ? { policies: scope.policies } : {}),
    ...(scope.fit ? { fit: scope.fit } : {}),
    ...(scope.minOutputTokens !== undefined ? { minOutputTokens: scope.minOutputTokens } : {}),
    costCenter: scope.costCenter,
    applicationId: scope.applicationId,
    period: scope.period,
    limitPico: scope.limitPico === undefined ? undefined : BigInt(scope.limitPico),
    limitTokens: scope.limitTokens,
    alertThresholds: scope.alertThresholds,
  };
}

/**
 * Settle every scope of a reservation with what the request really used (zero for a release).
 * Idempotent per requestId: the store only changes a counter whose reservation is still there.
 */
export async function settleScopes(
  store: BudgetStore,
  reservation: Reservation,
  used: Amount,
): Promise<Array<{ settled: boolean; figures: CounterFigures }>> {
  const reserved = reservedAmount(reservation);
  const results = [];
  for (const scope of reservation.scopes) {
    results.push(await store.settle(scope, reservation.requestId, reserved, used));
  }
  return results;
}

/**
 * A settled scope's figures as its budget's. Unsharded: the counter's, as the settle left them.
 * Sharded: the sum of the settled shard's, fresh, and the other shards' as this process read
 * or wrote them within {@link RECENT_READING_MS}; so the budget figures an answer shows and the
 * alerts checked against lag other processes' writes by at most that. If that read fails it is reported and
 * the shard's own figures are returned.
 */
export async function budgetFiguresOf(
  store: BudgetStore,
  scope: ReservedScope,
  figures: CounterFigures,
  onError: (what: string, error: unknown) => void,
): Promise<CounterFigures> {
  if (scope.shards === undefined || scope.shards <= 1) return figures;
  try {
    const shard = { index: scope.shard ?? 0, figures };
    const budget = budgetOfScope(scope);
    return (await recentReadingWith(store, budget, scope.periodKey, Date.now(), RECENT_READING_MS, shard))
      .figures;
  } catch (error) {
    onError("a sharded budget's other shards not read; its figures are one shard's", error);
    return figures;
  }
}

export interface SettledRequest {
  /** Whether this call settled the request; false when an earlier attempt already had. */
  settled: boolean;
  /** Each scope's budget figures (see {@link budgetFiguresOf}). */
  figures: CounterFigures[];
  alerts: BudgetAlert[];
}

export interface ChargeDetail {
  /** Picks the usage partition the aggregate is written to. */
  requestId: string;
  tags: Tags;
  modelId: string;
  /** Bedrock's usage, when it answered. */
  usage?: Usage | undefined;
  /** A policy served a cheaper model than the one requested. */
  downgraded?: boolean | undefined;
  /** Answered from the response cache (charged nothing): what the call would have cost. */
  cacheHit?: { savedPico: bigint } | undefined;
  /** The max_tokens the request ran with, for the advisor (how much of it answers use). */
  maxTokens?: number | undefined;
  at: Date;
}

/**
 * Settle a request, then, only if this call is the one that settled it: add it to the day's
 * usage aggregate, and claim each alert threshold its spending crossed (each threshold is
 * claimed once per period, whatever the concurrency). Failures after the settle are reported to
 * `onError` and do not undo it: the request was served and charged.
 */
export async function settleRequest(
  store: BudgetStore,
  reservation: BudgetReservation,
  used: Amount,
  detail: ChargeDetail,
  onError: (what: string, error: unknown) => void,
): Promise<SettledRequest> {
  const results = await settleScopes(store, reservation, used);
  if (reservation.windows?.length) {
    // A window left at the worst case only counts too much, and only until its minute ends.
    await settleWindows(store, reservation.requestId, reservation.windows, used.tokens).catch((error) =>
      onError('rate window not corrected', error),
    );
  }
  if (used.pico > reservedAmount(reservation).pico) {
    // The estimate is meant to be an upper bound; real usage above it could take spent past a limit.
    onError('usage above its reservation', {
      requestId: reservation.requestId,
      used: used.pico.toString(),
      reserved: reservation.costPico,
    });
  }
  if (results[0]?.settled && used.pico > 0n) await recordUsage(store, detail, used, onError);
  const figures = await Promise.all(
    reservation.scopes.map((scope, index) =>
      budgetFiguresOf(store, scope, results[index]?.figures ?? ZERO_FIGURES, onError),
    ),
  );
  const alerts: BudgetAlert[] = [];
  for (const [index, scope] of reservation.scopes.entries()) {
    const budgetFigures = figures[index];
    if (results[index]?.settled && budgetFigures)
      alerts.push(...(await claimAlerts(store, scope, budgetOfScope(scope), budgetFigures, onError)));
  }
  return { settled: results[0]?.settled ?? false, figures, alerts };
}

/**
 * Add a charged request (or one the response cache answered, charged nothing) to its day's usage
 * aggregate; a failure is reported, never thrown.
 */
/** One answer's place among the tenths of max_tokens, as counts. */
const tenthsOf = (tenth: number) => Array.from({ length: 10 }, (_, i) => (i === tenth ? 1 : 0));

export async function recordUsage(
  store: BudgetStore,
  detail: ChargeDetail,
  used: Amount,
  onError: (what: string, error: unknown) => void,
): Promise<void> {
  try {
    await store.addUsage({
      shard: usageShardOf(detail.requestId),
      day: detail.at.toISOString().slice(0, 10),
      costCenter: detail.tags.costCenter,
      applicationId: detail.tags.applicationId,
      environment: detail.tags.environment,
      modelId: detail.modelId,
      requests: 1,
      inputTokens: detail.usage?.inputTokens ?? 0,
      outputTokens: detail.usage?.outputTokens ?? 0,
      cacheReadInputTokens: detail.usage?.cacheReadInputTokens ?? 0,
      cacheWriteInputTokens: detail.usage?.cacheWriteInputTokens ?? 0,
      costPico: used.pico,
      ...(detail.downgraded ? { downgrades: 1 } : {}),
      ...(detail.cacheHit ? { cacheHits: 1, savedPico: detail.cacheHit.savedPico } : {}),
      ...(detail.maxTokens && detail.usage && !detail.cacheHit
        ? {
            maxTokens: detail.maxTokens,
            outputShareTenths: tenthsOf(outputShareTenth(detail.usage.outputTokens, detail.maxTokens)),
          }
        : {}),
    });
  } catch (error) {
    onError('usage aggregate not recorded', error);
  }
}
