import type { MeterRecord } from '../shared/adapters/metering.ts';
import { priceOf } from '../shared/rules/catalog.ts';
import { isTextOnly, textOf } from '../shared/rules/content.ts';
import { picoToUsd } from '../shared/rules/money.ts';
import { type Usage, usageCost } from '../shared/rules/pricing.ts';
import type { CacheHit } from '../shared/rules/response-cache.ts';
import { recordUsage } from '../shared/rules/settlement.ts';
import type { Invocation, WorkflowState } from '../shared/rules/types.ts';
import type { WireEnvelope } from '../shared/rules/wire/request.ts';
import { allowedRecord, answerFor, type InvokeResponse, type SettleDeps } from './core.ts';

/** A hit used no tokens: Bedrock was not called. */
export const CACHE_HIT_USAGE: Usage = {
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  cacheReadInputTokens: 0,
  cacheWriteInputTokens: 0,
};

/**
 * Answer a response cache hit in the route's own wire: the stored answer, charged nothing (no
 * counter is touched, no token counted), with `cache: {hit: true, savedUsd}`, where `savedUsd` is
 * the stored answer's usage priced at this request's price version. Counted in the day's usage
 * aggregate (`cacheHits`, `savedPico`) and in the metrics `CacheHits` and `SavedUSD`.
 */
export async function answerFromCache(
  state: WorkflowState & { cacheHit: CacheHit },
  deps: SettleDeps,
): Promise<{ response: InvokeResponse | WireEnvelope; record: MeterRecord }> {
  const { cacheHit, estimate, model, tags, requestId } = state;
  const { answer } = cacheHit;
  const receivedAt = new Date(state.receivedAt);
  const savedPico = usageCost(answer.usage, priceOf(deps.catalog, estimate.priceVersion, model.modelId));
  await recordUsage(
    deps.store,
    { requestId, tags, modelId: model.modelId, at: receivedAt, cacheHit: { savedPico } },
    { pico: 0n, tokens: 0 },
    deps.onError,
  );

  const invocation: Invocation = {
    output: { role: 'assistant', content: answer.content },
    stopReason: answer.stopReason,
    usage: CACHE_HIT_USAGE,
    latencyMs: 0,
  };
  const timestamp = receivedAt.toISOString();
  const latencyMs = { model: 0, total: Math.max(0, deps.now() - state.receivedAt) };
  const response: InvokeResponse = {
    requestId,
    model: { alias: model.alias, modelId: model.modelId },
    output: {
      role: 'assistant',
      content: isTextOnly(answer.content) ? textOf(answer.content) : answer.content,
    },
    stopReason: answer.stopReason,
    usage: CACHE_HIT_USAGE,
    cost: { usd: 0, priceVersion: estimate.priceVersion },
    tags: { ...tags, requestId, timestamp },
    latencyMs,
    ...(model.warning ? { warnings: [model.warning] } : {}),
    cache: { hit: true, savedUsd: picoToUsd(savedPico) },
  };
  return {
    response: answerFor(state, response, invocation),
    record: {
      ...allowedRecord(state, timestamp),
      costPico: 0n,
      priceVersion: estimate.priceVersion,
      latencyMs: { total: latencyMs.total },
      cache: { hit: true, savedPico },
    },
  };
}
