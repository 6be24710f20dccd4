import type { MeterRecord } from '../shared/adapters/metering.ts';
import type { Amount, BudgetStore, CounterKey } from '../shared/rules/budget.ts';
import type { BudgetAlert } from '../shared/rules/budget-alerts.ts';
import { callerIdOf } from '../shared/rules/callers.ts';
import { type Catalog, priceOf } from '../shared/rules/catalog.ts';
import {
  ERRORS,
  type ErrorCode,
  errorBody,
  NOT_BILLED,
  type PublicErrorFields,
  publicFailure,
  statusOf,
} from '../shared/rules/errors.ts';
import { periodKey } from '../shared/rules/period.ts';
import { usageCost, usageTokens } from '../shared/rules/pricing.ts';
import { releaseHolds, reservedAmount, settleRequest } from '../shared/rules/settlement.ts';
import { readCounter, shardKeys } from '../shared/rules/sharded-counter.ts';
import type { ExecutionInput, WorkflowState } from '../shared/rules/types.ts';
import { converseError } from '../shared/rules/wire/converse.ts';
import { openAiError } from '../shared/rules/wire/openai-answer.ts';
import { envelopeOf, type Route } from '../shared/rules/wire/request.ts';

/** What Step Functions puts at `$.error` when a Catch fires. */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

/** Whatever state the workflow had reached when it failed, and the error. */
export type FailedState = Partial<WorkflowState> & {
  requestId: string;
  receivedAt: number;
  error: CaughtError;
};

/** The Fail state reads these: a stable code and the public error body as JSON text. */
export interface Failure {
  code: ErrorCode;
  body: string;
}

export interface FailureDeps {
  store: BudgetStore;
  catalog: Catalog;
  now: () => number;
  /** Called when the release, or what follows it, fails: a reservation left held stays for the sweeper. */
  onError: (what: string, error: unknown) => void;
}

/**
 * What a failed request is charged: its real usage when Bedrock answered (a later step failed);
 * nothing when Bedrock refused or was never called; otherwise (a model timeout, a crashed or
 * timed-out Lambda) the whole reservation, because Bedrock may have done and billed the work.
 */
export function chargeOf(state: FailedState, catalog: Catalog): Amount {
  if (!state.reservation) return { pico: 0n, tokens: 0 };
  if (state.invocation && state.model && state.estimate) {
    const price = priceOf(catalog, state.estimate.priceVersion, state.model.modelId);
    return { pico: usageCost(state.invocation.usage, price), tokens: usageTokens(state.invocation.usage) };
  }
  return NOT_BILLED.has(state.error.Error) ? { pico: 0n, tokens: 0 } : reservedAmount(state.reservation);
}

/** Failures after validation that hold nothing: refusals that returned their own holds, or came before any. */
const HOLDS_NOTHING = new Set([
  'BudgetExceededError',
  'BudgetPolicyError',
  'RateLimitedError',
  'UnknownCostCenterError',
  'IdempotencyKeyReusedError',
  'IdempotencyInProgressError',
]);

/** Refusals by a registered cost center's budget: their tags are known good, so they are metric dimensions. */
const BUDGET_REFUSALS: ReadonlySet<string> = new Set([
  ERRORS.BudgetExceededError.code,
  ERRORS.BudgetPolicyError.code,
  ERRORS.RateLimitedError.code,
]);

/**
 * A request that failed after validation but before ReserveBudget answered (a store failure
 * whose clean-up failed too, a Lambda timeout after its write) may hold counters nobody knows
 * of. Find them from the tags and `receivedAt`, as ReserveBudget chose them, and give them back:
 * Bedrock was never called, so nothing is charged.
 */
async function releaseUnknownHolds(state: FailedState, store: BudgetStore): Promise<number> {
  if (state.reservation || !state.tags || !state.estimate || HOLDS_NOTHING.has(state.error.Error)) return 0;
  const { costCenter, applicationId } = state.tags;
  const budgets = await store.getBudgets({ costCenter, applicationId });
  const at = new Date(state.receivedAt);
  const counters: CounterKey[] = [];
  for (const budget of [budgets.costCenter, budgets.application]) {
    if (!budget) continue;
    // A sharded counter: the hold may be on any shard (the request's candidates, or the roomiest).
    const key = periodKey(budget.period, at);
    const { shards } = await readCounter(store, budget, key);
    counters.push(...shardKeys(budget, key, shards.length));
  }
  return releaseHolds(store, state.requestId, counters);
}

/**
 * A state's own timeout (`States.Timeout`) means the model did not answer only when it struck
 * while the model was being called; anywhere else it is an internal failure.
 */
function failureOf(state: FailedState): ReturnType<typeof publicFailure> {
  const failure = publicFailure(state.error.Error, state.error.Cause);
  const whileInvoking = state.reservation !== undefined && state.invocation === undefined;
  if (state.error.Error === 'States.Timeout' && !whileInvoking) {
    return { code: ERRORS.InternalError.code, fields: { message: ERRORS.InternalError.message } };
  }
  return failure;
}

/** Who called, from the raw execution input, when the failure came before validation. */
function callerOf(state: FailedState): string | undefined {
  return callerIdOf((state as { caller?: ExecutionInput['caller'] }).caller);
}

/**
 * The failure path: release whatever the request holds (nothing when it failed before
 * reserving), then describe the failure with only what a client may see.
 */
export async function handleFailure(
  state: FailedState,
  deps: FailureDeps,
): Promise<{ failure: Failure; record: MeterRecord; alerts: BudgetAlert[]; billed: boolean }> {
  const { code, fields } = failureOf(state);
  const charge = chargeOf(state, deps.catalog);
  let alerts: BudgetAlert[] = [];
  let charged = false;
  if (state.reservation && state.tags && state.model) {
    try {
      const detail = {
        requestId: state.requestId,
        tags: state.tags,
        modelId: state.model.modelId,
        usage: state.invocation?.usage,
        at: new Date(state.receivedAt),
      };
      const settled = await settleRequest(deps.store, state.reservation, charge, detail, deps.onError);
      alerts = settled.alerts;
      charged = settled.settled;
    } catch (error) {
      deps.onError('release failed; the reservation stays held until the sweeper returns it', error);
    }
  } else {
    try {
      await releaseUnknownHolds(state, deps.store);
    } catch (error) {
      deps.onError('holds of a failed reservation not released; the sweeper charges them', error);
    }
  }
  // Tags are metric dimensions only once validated and known to name a registered cost center.
  const registered = state.reservation !== undefined || BUDGET_REFUSALS.has(code);
  return {
    failure: { code, body: failureBody((state as { route?: Route }).route, code, fields, state.requestId) },
    record: {
      requestId: state.requestId,
      timestamp: new Date(state.receivedAt).toISOString(),
      callerId: state.callerId ?? callerOf(state),
      tags: registered ? state.tags : undefined,
      modelId: state.model?.modelId,
      decision: statusOf(code) < 500 ? 'rejected' : 'failed',
      errorCode: code,
      usage: state.invocation?.usage,
      // Only the call that settled the reservation reports its cost, so nothing is counted twice.
      costPico: charged ? charge.pico : undefined,
      priceVersion: state.estimate?.priceVersion,
      latencyMs: { model: state.invocation?.latencyMs, total: Math.max(0, deps.now() - state.receivedAt) },
    },
    alerts,
    // Charged for it (now, or by the sweeper if this settle failed): an Idempotency-Key keeps
    // this answer, so a retry replays it instead of being charged again.
    billed: charge.pico > 0n || charge.tokens > 0,
  };
}

/**
 * The failure as the route's wire answers it: the seed format's error body; on the drop-in
 * routes an envelope with Bedrock's or OpenAI's error shape, its status and its headers (the
 * response template reads them, since a drop-in route's statuses differ from the catalog's).
 */
export function failureBody(
  route: Route | undefined,
  code: ErrorCode,
  fields: PublicErrorFields,
  requestId: string,
): string {
  switch (route) {
    case undefined:
    case 'invoke':
      return JSON.stringify(errorBody(code, requestId, fields));
    case 'converse':
      return JSON.stringify(envelopeOf(converseError(code, fields, requestId)));
    case 'openai':
      return JSON.stringify(envelopeOf(openAiError(code, fields, requestId)));
  }
}
