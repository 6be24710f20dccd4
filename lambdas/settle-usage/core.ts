import type { MeterRecord } from '../shared/adapters/metering.ts';
import { type BudgetStore, utilization, ZERO_FIGURES } from '../shared/rules/budget.ts';
import type { BudgetAlert } from '../shared/rules/budget-alerts.ts';
import { budgetView } from '../shared/rules/budget-views.ts';
import { type Catalog, priceOf } from '../shared/rules/catalog.ts';
import { type ContentBlock, isTextOnly, textOf } from '../shared/rules/content.ts';
import { picoToUsd } from '../shared/rules/money.ts';
import { type Usage, usageCost, usageTokens } from '../shared/rules/pricing.ts';
import {
  CACHEABLE_STOP_REASONS,
  type CachePolicy,
  cacheExpiry,
  cacheItemText,
  cacheKey,
} from '../shared/rules/response-cache.ts';
import {
  type BudgetReservation,
  budgetOfScope,
  type Routing,
  settleRequest,
} from '../shared/rules/settlement.ts';
import { usageShardOf } from '../shared/rules/shards.ts';
import { systemPromptOf } from '../shared/rules/system-prompts.ts';
import { keys } from '../shared/rules/table.ts';
import type { Invocation, Reservation, Tags, WorkflowState } from '../shared/rules/types.ts';
import { toConverse } from '../shared/rules/wire/converse.ts';
import { toOpenAi } from '../shared/rules/wire/openai-answer.ts';
import type { WireEnvelope } from '../shared/rules/wire/request.ts';

export interface SettleDeps {
  store: BudgetStore;
  catalog: Catalog;
  now: () => number;
  onError: (what: string, error: unknown) => void;
}

/** The 200 body of POST /v1/invoke (DESIGN section 3). */
export interface InvokeResponse {
  requestId: string;
  model: { alias: string; modelId: string };
  /** The answer: text when it is only text (as seed 001), else its Converse blocks (tool uses included). */
  output: { role: 'assistant'; content: string | ContentBlock[] };
  stopReason: string;
  usage: Usage;
  cost: { usd: number; priceVersion: string };
  /** The cost center's budget after this request (absent on a cache hit, which reads no counter). */
  budget?: Record<string, unknown>;
  /** The application's own budget, when it has one. */
  applicationBudget?: Record<string, unknown>;
  tags: Tags & { requestId: string; timestamp: string };
  latencyMs: { model: number; total: number };
  /** What the client should know but that did not stop the request (a Legacy model's end of life, a clamped max_tokens, a downgrade). */
  warnings?: string[];
  /** A budget policy served a cheaper model than the one requested. */
  routing?: Routing;
  /** Answered from the response cache: charged nothing, `savedUsd` is what the call would have cost. */
  cache?: { hit: true; savedUsd: number };
}

/**
 * Settle the reservation against the real usage, priced at the price version the estimate used,
 * and build the response. A retry after a settle that went through charges nothing more.
 */
export async function settleUsage(
  state: WorkflowState & { reservation: Reservation; invocation: Invocation },
  deps: SettleDeps,
): Promise<{
  response: InvokeResponse | WireEnvelope;
  record: MeterRecord;
  alerts: BudgetAlert[];
  settled: boolean;
}> {
  const { invocation, estimate, model, tags, requestId } = state;
  const reservation: BudgetReservation = state.reservation;
  const warnings = [...(reservation.warnings ?? []), ...(model.warning ? [model.warning] : [])];
  const receivedAt = new Date(state.receivedAt);
  const costPico = usageCost(invocation.usage, priceOf(deps.catalog, estimate.priceVersion, model.modelId));
  const { figures, alerts, settled } = await settleRequest(
    deps.store,
    reservation,
    { pico: costPico, tokens: usageTokens(invocation.usage) },
    {
      requestId: state.requestId,
      tags,
      modelId: model.modelId,
      usage: invocation.usage,
      maxTokens: state.prompt.parameters.maxTokens,
      at: receivedAt,
      ...(reservation.routing ? { downgraded: true } : {}),
    },
    deps.onError,
  );

  // Both report their own failures: neither fails the request, and neither waits for the other.
  await Promise.all([
    settled ? recordSystemPrompt(state, deps) : undefined,
    reservation.cache && !state.noCache ? keepAnswer(state, reservation.cache, deps) : undefined,
  ]);

  const views = reservation.scopes.map((scope, i) =>
    budgetView(budgetOfScope(scope), scope.periodKey, figures[i] ?? ZERO_FIGURES, receivedAt),
  );
  const costCenterScope = reservation.scopes[0];
  const costCenterFigures = figures[0];
  if (!costCenterScope || !costCenterFigures || !views[0])
    throw new Error('a reservation holds its cost center');
  const timestamp = receivedAt.toISOString();
  const latencyMs = { model: invocation.latencyMs, total: Math.max(0, deps.now() - state.receivedAt) };
  const response: InvokeResponse = {
    requestId,
    model: { alias: model.alias, modelId: model.modelId },
    output: {
      role: 'assistant',
      content: isTextOnly(invocation.output.content)
        ? textOf(invocation.output.content)
        : invocation.output.content,
    },
    stopReason: invocation.stopReason,
    usage: invocation.usage,
    cost: { usd: picoToUsd(costPico), priceVersion: estimate.priceVersion },
    budget: views[0],
    ...(views[1] ? { applicationBudget: views[1] } : {}),
    tags: { ...tags, requestId, timestamp },
    latencyMs,
    ...(warnings.length ? { warnings } : {}),
    ...(reservation.routing ? { routing: reservation.routing } : {}),
  };
  return {
    response: answerFor(state, response, invocation),
    record: {
      ...allowedRecord(state, timestamp),
      usage: invocation.usage,
      costPico,
      priceVersion: estimate.priceVersion,
      latencyMs,
      budgetUtilization: utilization(budgetOfScope(costCenterScope), costCenterFigures),
      ...(reservation.routing
        ? { routing: { requested: reservation.routing.requested, served: reservation.routing.served } }
        : {}),
    },
    alerts,
    settled,
  };
}

/** The audit and metrics fields of a served request: who, which model, allowed. */
export function allowedRecord(state: WorkflowState, timestamp: string) {
  return {
    requestId: state.requestId,
    timestamp,
    callerId: state.callerId,
    tags: state.tags,
    ...(state.tagsFrom ? { tagsFrom: state.tagsFrom } : {}),
    modelId: state.model.modelId,
    decision: 'allowed' as const,
  };
}

/**
 * Count the request's system prompt, by hash, when it is large enough to cache and has no
 * cachePoint: the advisor's prompt-caching lever reads these. A failure is reported, not thrown.
 */
async function recordSystemPrompt(state: WorkflowState, deps: SettleDeps): Promise<void> {
  const prompt = systemPromptOf(state.prompt.system);
  if (!prompt) return;
  try {
    await deps.store.addSystemPromptUse({
      ...prompt,
      shard: usageShardOf(state.requestId),
      day: new Date(state.receivedAt).toISOString().slice(0, 10),
      costCenter: state.tags.costCenter,
      applicationId: state.tags.applicationId,
      modelId: state.model.modelId,
      requests: 1,
    });
  } catch (error) {
    deps.onError('system prompt use not recorded', error);
  }
}

/**
 * Keep a successful answer in the response cache, under the key of the request as it was served
 * (its model, its `max_tokens`), scoped to its cost center. An answer too large for an item is
 * not kept; a failure is reported and never fails the request, which was served and charged.
 */
async function keepAnswer(
  state: WorkflowState & { invocation: Invocation },
  policy: CachePolicy,
  deps: SettleDeps,
) {
  const { invocation, model, prompt, tags } = state;
  if (!CACHEABLE_STOP_REASONS.includes(invocation.stopReason)) return;
  const text = cacheItemText({
    content: invocation.output.content,
    stopReason: invocation.stopReason,
    usage: invocation.usage,
    latencyMs: invocation.latencyMs,
  });
  if (text === undefined) return;
  const key = keys.cachedAnswer(
    tags.costCenter,
    cacheKey(tags.costCenter, { modelId: model.modelId, ...prompt }),
  );
  try {
    await deps.store.putCachedAnswer(key, text, cacheExpiry(policy, deps.now()));
  } catch (error) {
    deps.onError('answer not cached', error);
  }
}

/**
 * The answer in the wire format the request came by: the seed format's body as it is; on the
 * drop-in routes an envelope holding Converse's or OpenAI's own body, with the cost and the
 * budget left in headers (Converse) or in the `cost_sentry` extension (OpenAI).
 */
export function answerFor(
  state: WorkflowState,
  response: InvokeResponse,
  invocation: Invocation,
): InvokeResponse | WireEnvelope {
  const headers = {
    costUsd: String(response.cost.usd),
    ...(response.budget?.remainingUsd !== undefined
      ? { remainingUsd: String(response.budget.remainingUsd) }
      : {}),
    ...(response.cache?.hit ? { cache: 'hit' } : {}),
  };
  switch (state.route) {
    case undefined:
    case 'invoke':
      return response;
    case 'converse':
      return {
        ...headers,
        body: JSON.stringify(
          toConverse({
            content: invocation.output.content,
            stopReason: invocation.stopReason,
            usage: invocation.usage,
            latencyMs: invocation.latencyMs,
          }),
        ),
      };
    case 'openai':
      return {
        ...headers,
        body: JSON.stringify(
          toOpenAi(
            {
              requestId: response.requestId,
              created: Math.floor(state.receivedAt / 1000),
              model: response.model.alias,
              content: invocation.output.content,
              stopReason: invocation.stopReason,
              usage: invocation.usage,
            },
            {
              requestId: response.requestId,
              model: response.model,
              cost: response.cost,
              budget: response.budget,
              ...(response.applicationBudget ? { applicationBudget: response.applicationBudget } : {}),
              ...(response.warnings ? { warnings: response.warnings } : {}),
              ...(response.routing ? { routing: response.routing } : {}),
              ...(response.cache ? { cache: response.cache } : {}),
            },
          ),
        ),
      };
  }
}
