import type {
  Amount,
  BudgetDefinition,
  BudgetStore,
  CounterFigures,
  CounterKey,
} from '../shared/rules/budget.ts';
import { budgetView } from '../shared/rules/budget-views.ts';
import type { Catalog } from '../shared/rules/catalog.ts';
import { BudgetExceededError, RateLimitedError, UnknownCostCenterError } from '../shared/rules/errors.ts';
import { formatUsd } from '../shared/rules/money.ts';
import { secondsUntilReset } from '../shared/rules/period.ts';
import { type CacheHit, cacheKey, freshAnswer, isCacheable } from '../shared/rules/response-cache.ts';
import {
  type BudgetReservation,
  type BudgetReservedScope,
  releaseHolds,
  settleWindows,
} from '../shared/rules/settlement.ts';
import { keys } from '../shared/rules/table.ts';
import type { ValidatedRequest } from '../shared/rules/types.ts';

import { amountOf, describe, type ReserveDeps, type ReservedRequest, repriced } from './common.ts';
import { applyPolicies } from './policies.ts';
import { countRateLimited, holdWindows } from './rate-windows.ts';
import { holdOnBudget, roomiest, type ShardShare } from './shards.ts';

export type { ReserveDeps, ReservedRequest } from './common.ts';

/** How long ReserveBudget waits, at most, for money held by requests in flight before answering "held". */
export const HELD_WAIT_MS = 1_000;
/** The pauses between attempts while waiting for held money (they add up to {@link HELD_WAIT_MS}). */
const HELD_PAUSES_MS = [25, 50, 75, 100, 150, 200, 400];
/** The `Retry-After` of a "held" refusal: the money frees up as soon as requests in flight settle. */
export const HELD_RETRY_AFTER_SECONDS = 1;
/** At most this many times a request is clamped (once per budget that refuses it, and a race). */
const MAX_CLAMPS = 3;

type Attempt =
  | { held: BudgetReservedScope[] }
  | {
      refusedBy: BudgetDefinition;
      scope: BudgetReservedScope;
      figures: CounterFigures;
      shares: ShardShare[];
    };

/**
 * One attempt to hold the request's worst case on every budget (one conditional write each, or
 * a few on a sharded counter). A refusal gives back what the attempt held and says which budget
 * refused, with its figures.
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
  const attempted: CounterKey[] = [];
  const held: BudgetReservedScope[] = [];
  try {
    for (const budget of budgets) {
      const { requestId } = request;
      const outcome = await holdOnBudget({
        store: deps.store,
        budget,
        at,
        requestId,
        amount,
        detail,
        attempted,
        now: deps.now(),
      });
      if ('refused' in outcome) {
        await releaseHolds(deps.store, request.requestId, attempted);
        return { refusedBy: budget, ...outcome.refused };
      }
      held.push(outcome.held);
    }
  } catch (error) {
    // Nothing reached Bedrock: give back every hold before failing, so none waits for the sweeper.
    // If this fails too, the failure handler tries again from the request's tags.
    await releaseHolds(deps.store, request.requestId, attempted).catch(() => undefined);
    throw error;
  }
  return { held };
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
      const { refusedBy: budget, scope, figures, shares } = attempt;
      // On a sharded counter, a request must fit one shard: the clamp fits it to the roomiest.
      const room = roomiest(shares);
      const clamped =
        clamps < MAX_CLAMPS ? clampToFit(current, room.budget, room.figures, deps.catalog) : undefined;
      if (clamped) {
        current = clamped;
        clamps++;
        continue;
      }
      // Held: some shard would fit it once its requests in flight settle.
      const least = leastAmount(current, budget, deps.catalog);
      const held = shares.some((share) =>
        fits(least, share.budget, share.figures.spentPico, share.figures.spentTokens),
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
      // Each shard holds its share only: a request larger than every share never fits.
      const tooLarge =
        shares.length > 1 &&
        fits(least, budget, 0n, 0) &&
        !shares.some((share) => fits(least, share.budget, 0n, 0));
      throw new BudgetExceededError(
        `The request's worst-case cost of $${formatUsd(amount.pico)} (${amount.tokens} tokens) does not fit ` +
          `the ${budget.period} budget of ${describe(budget)}` +
          (tooLarge
            ? `: it is larger than each of the budget's ${shares.length} shards (sized for ` +
              `${budget.expectedRequestsPerSecond ?? 'more'} requests a second); lower max_tokens, or size the budget for fewer.`
            : held
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
