import type { MeterRecord } from '../shared/adapters/metering.ts';
import {
  type BudgetStore,
  type CounterKey,
  type IdleCounter,
  type StaleReservation,
  utilization,
} from '../shared/rules/budget.ts';
import { type BudgetAlert, claimAlerts } from '../shared/rules/budget-alerts.ts';
import { budgetFiguresOf, recordUsage, scopeOf } from '../shared/rules/settlement.ts';
import { readCounter } from '../shared/rules/sharded-counter.ts';
import { keys } from '../shared/rules/table.ts';

/**
 * A reservation older than this belongs to an execution that cannot be running any more: the
 * state machine times out after 27 s. The margin covers clock skew between Lambdas.
 */
export const STALE_AFTER_SECONDS = 120;

export interface SweepDeps {
  store: BudgetStore;
  now: () => Date;
  /** Told of accounting that failed after a close (the close itself stands). */
  onError?: (what: string, error: unknown) => void;
}

export interface SweepResult {
  found: number;
  /** Stale reservations closed by this run. */
  closed: number;
  /** What they were charged, in pico-USD. */
  chargedPico: bigint;
  /** Reservations whose close failed; the next run tries them again. */
  failed: number;
  /** Counters that held nothing any more, taken off the open index. */
  forgotten: number;
  /** One record per closed request, for metrics and the audit log, as any other charge. */
  records: MeterRecord[];
  /** Alert thresholds the charges crossed, each claimed once per period. */
  alerts: BudgetAlert[];
}

/**
 * Close reservations whose execution died (a crashed or timed-out step) without settling or
 * releasing. The request may have reached Bedrock and been billed, so each is charged in full:
 * counters err only on the conservative side. Each close is the same conditional write a settle
 * uses, so a reservation is closed at most once, even when the sweeper races a late settle or
 * another sweeper. A closed charge is accounted like any other: the day's usage aggregate, the
 * metrics and the alert thresholds. The sweep reads only the counters the open index lists.
 */
export async function sweepReservations(deps: SweepDeps): Promise<SweepResult> {
  const onError = deps.onError ?? (() => undefined);
  const heldBefore = new Date(deps.now().getTime() - STALE_AFTER_SECONDS * 1000);
  const { stale, idle } = await deps.store.findStaleReservations(heldBefore);
  const result: SweepResult = {
    found: stale.length,
    closed: 0,
    chargedPico: 0n,
    failed: 0,
    forgotten: 0,
    records: [],
    alerts: [],
  };
  // A sharded budget's alerts are checked before its idle shards leave the index: a check that
  // fails leaves them there, for the next run to check again.
  const unchecked = await alertIdleShardedBudgets(deps.store, idle, result, onError);
  for (const key of idle) {
    if (unchecked.has(homeId(key))) continue;
    try {
      await deps.store.forgetIdleCounter(key);
      result.forgotten++;
    } catch (error) {
      onError('idle counter left on the open index', error);
    }
  }
  for (const reservation of stale) {
    let settled: Awaited<ReturnType<BudgetStore['settle']>>;
    try {
      settled = await deps.store.settle(
        reservation.key,
        reservation.requestId,
        reservation.amount,
        reservation.amount,
      );
    } catch {
      result.failed++;
      continue;
    }
    if (!settled.settled) continue;
    result.closed++;
    result.chargedPico += reservation.amount.pico;
    await account(deps.store, reservation, settled.figures, result, onError);
  }
  return result;
}

/** The first shard of the period counter a key belongs to, as text (empty for a key that is not a counter's). */
function homeId(key: CounterKey): string {
  const counter = keys.scopeOfCounter(key);
  const home = counter && keys.counter(counter, counter.periodKey);
  return home ? `${home.pk} ${home.sk}` : '';
}

/**
 * A settle checks a sharded budget's alerts against the other shards as read up to a second
 * before, so the settles that pass a threshold just as traffic stops may not see it. Once its
 * shards fall idle, check each such budget's alerts once against a fresh sum of its shards.
 * Counters of unsharded periods (their items say so) are not read. Returns the budgets (by
 * first shard) whose check failed.
 */
async function alertIdleShardedBudgets(
  store: BudgetStore,
  idle: IdleCounter[],
  result: SweepResult,
  onError: (what: string, error: unknown) => void,
): Promise<Set<string>> {
  const failed = new Set<string>();
  const checked = new Set<string>();
  for (const key of idle) {
    const counter = keys.scopeOfCounter(key);
    const id = homeId(key);
    if (!counter || (key.shards ?? 1) <= 1 || checked.has(id)) continue;
    checked.add(id);
    try {
      const found = await store.getBudgets(counter);
      const definition = counter.applicationId ? found.application : found.costCenter;
      if (!definition) continue;
      const { figures, shards } = await readCounter(store, definition, counter.periodKey);
      const home = keys.counter(definition, counter.periodKey);
      const scope = { ...scopeOf(definition, new Date()), ...home, periodKey: counter.periodKey };
      const sharded = { ...scope, shard: 0, shards: shards.length };
      result.alerts.push(...(await claimAlerts(store, sharded, definition, figures, onError)));
    } catch (error) {
      failed.add(id);
      onError('alerts of an idle sharded budget not checked; its shards stay on the open index', error);
    }
  }
  return failed;
}

/** Aggregate, meter and alert one closed reservation, as a settle would have. */
async function account(
  store: BudgetStore,
  reservation: StaleReservation,
  figures: Awaited<ReturnType<BudgetStore['settle']>>['figures'],
  result: SweepResult,
  onError: (what: string, error: unknown) => void,
): Promise<void> {
  const counter = keys.scopeOfCounter(reservation.key);
  if (!counter) return;
  let budget: Awaited<ReturnType<BudgetStore['getBudgets']>>;
  try {
    budget = await store.getBudgets(counter);
  } catch (error) {
    onError('budget of a swept reservation not read; no alert for it', error);
    budget = {};
  }
  const definition = counter.applicationId ? budget.application : budget.costCenter;
  let budgetFigures = figures;
  if (definition) {
    const scope = scopeOf(definition, reservation.heldSince, counter.shard, figures.shards ?? 1);
    budgetFigures = await budgetFiguresOf(store, scope, figures, onError);
    result.alerts.push(...(await claimAlerts(store, scope, definition, budgetFigures, onError)));
  }
  // One request holds one marker per budget scope: count it once, on its cost center's counter.
  const { detail } = reservation;
  if (counter.applicationId || !detail) return;
  const tags = {
    costCenter: counter.costCenter,
    applicationId: detail.applicationId,
    environment: detail.environment,
  };
  const usage = {
    inputTokens: reservation.amount.tokens - detail.outputTokens,
    outputTokens: detail.outputTokens,
    totalTokens: reservation.amount.tokens,
    cacheReadInputTokens: 0,
    cacheWriteInputTokens: 0,
  };
  await recordUsage(
    store,
    { requestId: reservation.requestId, tags, modelId: detail.modelId, usage, at: reservation.heldSince },
    reservation.amount,
    onError,
  );
  result.records.push({
    requestId: reservation.requestId,
    timestamp: reservation.heldSince.toISOString(),
    tags,
    modelId: detail.modelId,
    decision: 'failed',
    usage,
    costPico: reservation.amount.pico,
    latencyMs: { total: 0 },
    ...(definition ? { budgetUtilization: utilization(definition, budgetFigures) } : {}),
  });
}
