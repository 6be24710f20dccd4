import {
  type Amount,
  type BudgetDefinition,
  type BudgetPolicy,
  type BudgetStore,
  budgetView,
  type CounterFigures,
  keys,
  type RateLimitName,
  secondsUntilNextWindow,
  utilization,
  type WindowFigures,
  windowMinute,
} from '../shared/rules/budget.ts';
import { type Catalog, priceOf, type ResolvedModel, resolveModel } from '../shared/rules/catalog.ts';
import { contentTokenBound, UnboundableContentError } from '../shared/rules/content.ts';
import {
  BudgetExceededError,
  BudgetPolicyError,
  RateLimitedError,
  UnknownCostCenterError,
} from '../shared/rules/errors.ts';
import { formatUsd } from '../shared/rules/money.ts';
import { secondsUntilReset } from '../shared/rules/period.ts';
import { worstCaseCost } from '../shared/rules/pricing.ts';
import { type CacheHit, cacheKey, freshAnswer, isCacheable } from '../shared/rules/response-cache.ts';
import {
  type BudgetReservation,
  type BudgetReservedScope,
  type Routing,
  releaseHolds,
  scopeOf,
  settleWindows,
  type WindowHold,
} from '../shared/rules/settlement.ts';
import type { ValidatedRequest } from '../shared/rules/types.ts';

/** How long ReserveBudget waits, at most, for money held by requests in flight before answering "held". */
export const HELD_WAIT_MS = 1_000;
/** The pauses between attempts while waiting for held money (they add up to {@link HELD_WAIT_MS}). */
const HELD_PAUSES_MS = [25, 50, 75, 100, 150, 200, 400];
/** The `Retry-After` of a "held" refusal: the money frees up as soon as requests in flight settle. */
export const HELD_RETRY_AFTER_SECONDS = 1;
/** A rate window item outlives its minute by this much, then the table's TTL removes it. */
const WINDOW_KEPT_MS = 3_600_000;
/** At most this many times a request is clamped (once per budget that refuses it, and a race). */
const MAX_CLAMPS = 3;

export interface ReserveDeps {
  store: BudgetStore;
  catalog: Catalog;
  /** Each cost center's application inference profile ARNs by alias, for a downgraded model. */
  profiles?: Record<string, Record<string, string>> | undefined;
  /** The clock that picks the rate window (epoch milliseconds). */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** How long to wait for held money before answering "held". @default HELD_WAIT_MS */
  heldWaitMs?: number | undefined;
}

/** The request as InvokeModel must run it (the served model, the clamped `max_tokens`) and what it holds. */
export type ReservedRequest = ValidatedRequest & { reservation: BudgetReservation };

const describe = (budget: BudgetDefinition) =>
  budget.applicationId
    ? `application '${budget.applicationId}' in cost center '${budget.costCenter}'`
    : `cost center '${budget.costCenter}'`;

const amountOf = (request: ValidatedRequest): Amount => ({
  pico: BigInt(request.estimate.costPico),
  tokens: request.estimate.tokens,
});

/**
 * The same request served by `model` with `maxTokens`, its worst case priced again at the price
 * version the estimate used. Undefined when the model cannot take its content.
 */
function repriced(
  request: ValidatedRequest,
  model: ResolvedModel,
  maxTokens: number,
  catalog: Catalog,
): ValidatedRequest | undefined {
  let inputTokens = request.estimate.inputTokens;
  if (model.modelId !== request.model.modelId) {
    try {
      inputTokens = contentTokenBound(request.prompt, model);
    } catch (error) {
      if (error instanceof UnboundableContentError) return undefined;
      throw error;
    }
  }
  const { priceVersion } = request.estimate;
  let price: ReturnType<typeof priceOf>;
  try {
    price = priceOf(catalog, priceVersion, model.modelId);
  } catch {
    return undefined;
  }
  return {
    ...request,
    model,
    prompt: { ...request.prompt, parameters: { ...request.prompt.parameters, maxTokens } },
    estimate: {
      inputTokens,
      outputTokens: maxTokens,
      tokens: inputTokens + maxTokens,
      costPico: worstCaseCost(inputTokens, maxTokens, price).toString(),
      priceVersion,
    },
  };
}

const names = (model: ResolvedModel) => [model.alias, model.modelId];

/**
 * Apply the budgets' policies, in order (the cost center's, then the application's), at each
 * budget's utilization: a deny refuses, a downgrade swaps the model (priced again). Reads the
 * counter of a budget only when it has policies.
 */
async function applyPolicies(
  request: ValidatedRequest,
  budgets: BudgetDefinition[],
  at: Date,
  deps: ReserveDeps,
): Promise<{ request: ValidatedRequest; routing?: Routing }> {
  let current = request;
  let routing: Routing | undefined;
  for (const budget of budgets) {
    if (!budget.policies?.length) continue;
    const scope = scopeOf(budget, at);
    const figures = await deps.store.getCounter(scope);
    const used = utilization(budget, figures);
    for (const policy of budget.policies) {
      if (used < policy.atUtilization) continue;
      const at100 = `${Math.round(used * 1000) / 10}%`;
      if (policy.action === 'deny') {
        if (!names(current.model).some((n) => policy.models.includes(n))) continue;
        throw new BudgetPolicyError(
          `The ${budget.period} budget of ${describe(budget)} is at ${at100}; from ` +
            `${policy.atUtilization * 100}% it refuses ${current.model.alias}.`,
          { ...policy },
          { scope: scope.scope, ...budgetView(budget, scope.periodKey, figures, at) },
          secondsUntilReset(budget.period, at),
        );
      }
      if (!names(current.model).includes(policy.from)) continue;
      const served = downgradeTarget(policy, current, deps);
      if (!served) continue;
      routing = {
        requested: routing?.requested ?? request.model.alias,
        served: served.model.alias,
        reason:
          `the ${budget.period} budget of ${describe(budget)} is at ${at100}; from ` +
          `${policy.atUtilization * 100}% ${policy.from} is served as ${policy.to}`,
      };
      current = served;
    }
  }
  return { request: current, ...(routing ? { routing } : {}) };
}

/** The request served by a downgrade's target, or undefined when the target cannot serve it. */
function downgradeTarget(
  policy: Extract<BudgetPolicy, { action: 'downgrade' }>,
  request: ValidatedRequest,
  deps: ReserveDeps,
): ValidatedRequest | undefined {
  const resolved = resolveModel(deps.catalog, policy.to);
  if (!resolved) return undefined;
  const profile = deps.profiles?.[request.tags.costCenter]?.[resolved.alias];
  const model = profile ? { ...resolved, invokeModelId: profile } : resolved;
  const maxTokens = Math.min(request.prompt.parameters.maxTokens, model.maxOutputTokens);
  return repriced(request, model, maxTokens, deps.catalog);
}

/**
 * Count the request in each scope's rate window, one conditional write per scope with rate
 * limits. A refusal gives back the counts already made and says which limit refused.
 */
async function holdWindows(
  request: ValidatedRequest,
  budgets: BudgetDefinition[],
  deps: ReserveDeps,
): Promise<WindowHold[]> {
  const now = new Date(deps.now());
  const minute = windowMinute(now);
  const tokens = request.estimate.tokens;
  const held: WindowHold[] = [];
  const attempted: WindowHold[] = [];
  try {
    for (const budget of budgets) {
      const limits = budget.rateLimits;
      if (!limits) continue;
      const window = { ...keys.rateWindow(budget, minute), tokens };
      attempted.push(window);
      const expiresAt = new Date(Date.parse(`${minute}:00Z`) + 60_000 + WINDOW_KEPT_MS);
      const { reserved, figures } = await deps.store.reserveWindow(
        window,
        request.requestId,
        tokens,
        limits,
        expiresAt,
      );
      if (!reserved) {
        attempted.pop();
        const limit = refusingLimit(limits, figures, tokens);
        const value = limits[limit];
        throw new RateLimitedError(
          `The ${limit === 'requestsPerMinute' ? `limit of ${value} requests` : `limit of ${value} tokens`} ` +
            `per minute of ${describe(budget)} is reached in the minute ${minute} UTC` +
            (limit === 'tokensPerMinute'
              ? ` (this request counts ${tokens} tokens at its worst case).`
              : '.'),
          limit,
          {
            scope: budget.applicationId ? 'application' : 'costCenter',
            costCenter: budget.costCenter,
            ...(budget.applicationId ? { applicationId: budget.applicationId } : {}),
            rateLimits: limits,
            window: { minute, requests: figures.requests, tokens: figures.tokens },
          },
          secondsUntilNextWindow(now),
        );
      }
      held.push(window);
    }
  } catch (error) {
    await settleWindows(deps.store, request.requestId, attempted, undefined).catch(() => undefined);
    throw error;
  }
  return held;
}

function refusingLimit(
  limits: NonNullable<BudgetDefinition['rateLimits']>,
  figures: WindowFigures,
  tokens: number,
): RateLimitName {
  if (limits.requestsPerMinute !== undefined && figures.requests >= limits.requestsPerMinute) {
    return 'requestsPerMinute';
  }
  return limits.tokensPerMinute !== undefined && figures.tokens + tokens > limits.tokensPerMinute
    ? 'tokensPerMinute'
    : 'requestsPerMinute';
}

type Attempt =
  | { held: BudgetReservedScope[] }
  | { refusedBy: BudgetDefinition; scope: BudgetReservedScope; figures: CounterFigures };

/**
 * One attempt to hold the request's worst case on every budget, one conditional write each. A
 * refusal gives back what the attempt held and says which budget refused, with its figures.
 */
async function holdBudgets(
  request: ValidatedRequest,
  budgets: BudgetDefinition[],
  at: Date,
  deps: ReserveDeps,
): Promise<Attempt> {
  const amount = amountOf(request);
  const detail = {
    applicationId: request.tags.applicationId,
    environment: request.tags.environment,
    modelId: request.model.modelId,
    outputTokens: request.estimate.outputTokens,
  };
  // Counters a write went to whose outcome is not a refusal: held, or unknown (a lost answer).
  const attempted: BudgetReservedScope[] = [];
  try {
    for (const budget of budgets) {
      const scope = scopeOf(budget, at);
      attempted.push(scope);
      const { reserved, figures } = await deps.store.reserve(
        scope,
        request.requestId,
        amount,
        { pico: budget.limitPico, tokens: budget.limitTokens },
        at,
        detail,
      );
      if (!reserved) {
        attempted.pop();
        await releaseHolds(deps.store, request.requestId, attempted);
        return { refusedBy: budget, scope, figures };
      }
    }
  } catch (error) {
    // Nothing reached Bedrock: give back every hold before failing, so none waits for the sweeper.
    // If this fails too, the failure handler tries again from the request's tags.
    await releaseHolds(deps.store, request.requestId, attempted).catch(() => undefined);
    throw error;
  }
  return { held: attempted };
}

const fits = (amount: Amount, budget: BudgetDefinition, pico: bigint, tokens: number) =>
  (budget.limitPico === undefined || pico + amount.pico <= budget.limitPico) &&
  (budget.limitTokens === undefined || tokens + amount.tokens <= budget.limitTokens);

/**
 * With `fit: "clamp"`: the request with the largest `max_tokens` (at least the budget's
 * `minOutputTokens`, below the current one) whose worst case fits what the budget has left
 * unallocated; undefined when none does.
 */
function clampToFit(
  request: ValidatedRequest,
  budget: BudgetDefinition,
  figures: CounterFigures,
  catalog: Catalog,
): ValidatedRequest | undefined {
  if (budget.fit !== 'clamp') return undefined;
  const least = budget.minOutputTokens ?? 1;
  const fitsWith = (maxTokens: number) => {
    const candidate = repriced(request, request.model, maxTokens, catalog);
    return candidate && fits(amountOf(candidate), budget, figures.allocatedPico, figures.allocatedTokens)
      ? candidate
      : undefined;
  };
  let lo = least;
  let hi = request.prompt.parameters.maxTokens - 1;
  if (hi < lo || !fitsWith(lo)) return undefined;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fitsWith(mid)) lo = mid;
    else hi = mid - 1;
  }
  return fitsWith(lo);
}

/** The least the request could hold on this budget: its worst case, or at `minOutputTokens` when it may be clamped. */
function leastAmount(request: ValidatedRequest, budget: BudgetDefinition, catalog: Catalog): Amount {
  const least = budget.minOutputTokens ?? 1;
  if (budget.fit !== 'clamp' || least >= request.prompt.parameters.maxTokens) return amountOf(request);
  const clamped = repriced(request, request.model, least, catalog);
  return clamped ? amountOf(clamped) : amountOf(request);
}

/**
 * Count a rate-limited request in its day's usage aggregate, for the report: one unconditional
 * write on the refusal path only. A failure is ignored: the refusal stands either way.
 */
async function countRateLimited(request: ValidatedRequest, at: Date, deps: ReserveDeps): Promise<void> {
  await deps.store
    .addUsage({
      day: at.toISOString().slice(0, 10),
      costCenter: request.tags.costCenter,
      applicationId: request.tags.applicationId,
      environment: request.tags.environment,
      modelId: request.model.modelId,
      requests: 0,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
      costPico: 0n,
      rateLimited: 1,
    })
    .catch(() => undefined);
}

/**
 * Hold the request's worst-case cost against its cost center's budget and, when the application
 * has one, its application's budget, one conditional write each; count it first in the rate
 * window of each scope with rate limits. Before that, the budgets' policies may refuse the model
 * or serve a cheaper one (priced again, so the hold is the served model's worst case). A budget
 * with `fit: "clamp"` lowers `max_tokens` to what fits. A refusal that would fit once the
 * requests in flight settle is retried for up to `heldWaitMs`, then answered "held"; any other is
 * "spent". Every refusal gives back what was held.
 */
export async function reserveBudget(request: ValidatedRequest, deps: ReserveDeps): Promise<ReservedRequest> {
  return reserveFor(request, budgetsOf(request, await readBudgets(request, deps)), deps);
}

/** What ReserveBudget answers from the response cache: the request and the stored answer, nothing held. */
export type CachedRequest = ValidatedRequest & { cacheHit: CacheHit };

/**
 * ReserveBudget with the response cache in front: when the budget keeps answers (`cache`, the
 * application's or else the cost center's) and the request may be served from them, one read
 * of the cache item. A fresh answer is a hit: nothing is reserved, no rate window counts it, no
 * policy applies, Bedrock is not called. Otherwise {@link reserveBudget}, as without a cache.
 */
export async function reserveOrAnswerFromCache(
  request: ValidatedRequest,
  deps: ReserveDeps,
): Promise<ReservedRequest | CachedRequest> {
  const found = await readBudgets(request, deps);
  const policy = found.application?.cache ?? found.costCenter?.cache;
  const cacheable =
    found.costCenter !== undefined && isCacheable(request.prompt, policy, request.noCache === true);
  if (cacheable) {
    const key = keys.cachedAnswer(
      request.tags.costCenter,
      cacheKey(request.tags.costCenter, { modelId: request.model.modelId, ...request.prompt }),
    );
    const answer = freshAnswer(await deps.store.getCachedAnswer(key), deps.now());
    if (answer) return { ...request, cacheHit: { answer } };
  }
  const reserved = await reserveFor(request, budgetsOf(request, found), deps);
  // A miss: SettleUsage keeps the answer, under the key of the request as it is served.
  return cacheable && policy
    ? { ...reserved, reservation: { ...reserved.reservation, cache: policy } }
    : reserved;
}

type FoundBudgets = Awaited<ReturnType<BudgetStore['getBudgets']>>;

const readBudgets = (request: ValidatedRequest, deps: ReserveDeps): Promise<FoundBudgets> =>
  deps.store.getBudgets({ costCenter: request.tags.costCenter, applicationId: request.tags.applicationId });

function budgetsOf(request: ValidatedRequest, found: FoundBudgets): BudgetDefinition[] {
  if (!found.costCenter) throw new UnknownCostCenterError(request.tags.costCenter);
  return [found.costCenter, ...(found.application ? [found.application] : [])];
}

async function reserveFor(
  request: ValidatedRequest,
  budgets: BudgetDefinition[],
  deps: ReserveDeps,
): Promise<ReservedRequest> {
  const at = new Date(request.receivedAt);

  const { request: served, routing } = await applyPolicies(request, budgets, at, deps);
  const windows = await holdWindows(served, budgets, deps).catch(async (error: unknown) => {
    if (error instanceof RateLimitedError) await countRateLimited(served, at, deps);
    throw error;
  });
  const warnings: string[] = [];
  if (routing) warnings.push(`${routing.requested} was served as ${routing.served}: ${routing.reason}.`);

  let current = served;
  let clamps = 0;
  const started = deps.now();
  let pause = 0;
  try {
    for (;;) {
      const attempt = await holdBudgets(current, budgets, at, deps);
      if ('held' in attempt) {
        const requested = served.prompt.parameters.maxTokens;
        const maxTokens = current.prompt.parameters.maxTokens;
        if (maxTokens < requested) {
          warnings.push(
            `max_tokens was lowered from ${requested} to ${maxTokens} so that the worst case fits the budget.`,
          );
        }
        const reservation: BudgetReservation = {
          requestId: request.requestId,
          scopes: attempt.held,
          costPico: current.estimate.costPico,
          tokens: current.estimate.tokens,
          ...(windows.length ? { windows } : {}),
          ...(routing ? { routing } : {}),
          ...(warnings.length ? { warnings } : {}),
        };
        return { ...current, reservation };
      }
      const { refusedBy: budget, scope, figures } = attempt;
      const clamped = clamps < MAX_CLAMPS ? clampToFit(current, budget, figures, deps.catalog) : undefined;
      if (clamped) {
        current = clamped;
        clamps++;
        continue;
      }
      const held = fits(
        leastAmount(current, budget, deps.catalog),
        budget,
        figures.spentPico,
        figures.spentTokens,
      );
      const wait = HELD_PAUSES_MS[pause];
      // The wait is bounded by the clock (store round trips included), and by the number of pauses.
      const waitedMs = deps.now() - started;
      if (held && wait !== undefined && waitedMs + wait <= (deps.heldWaitMs ?? HELD_WAIT_MS)) {
        await deps.sleep(wait);
        pause++;
        continue;
      }
      const amount = amountOf(current);
      throw new BudgetExceededError(
        `The request's worst-case cost of $${formatUsd(amount.pico)} (${amount.tokens} tokens) does not fit ` +
          `the ${budget.period} budget of ${describe(budget)}` +
          (held
            ? ': requests in flight hold what is left; it frees up as they finish.'
            : ': it is spent until the reset.'),
        { scope: scope.scope, ...budgetView(budget, scope.periodKey, figures, at) },
        held ? HELD_RETRY_AFTER_SECONDS : secondsUntilReset(budget.period, at),
        held ? 'held' : 'spent',
      );
    }
  } catch (error) {
    await settleWindows(deps.store, request.requestId, windows, undefined).catch(() => undefined);
    throw error;
  }
}
