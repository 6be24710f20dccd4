import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  type Amount,
  type BudgetDefinition,
  type BudgetPolicy,
  type CounterFigures,
  type CounterKey,
  type HoldDetail,
  type StaleReservation,
  type UsageAggregate,
  type WindowFigures,
  ZERO_FIGURES,
} from './budget.ts';
import type { Period } from './period.ts';
import type { SystemPromptUse } from './system-prompts.ts';
import { keys, REGISTRY_INDEX } from './table.ts';

/**
 * How budget definitions, period counters, reservation markers and usage aggregates are laid out
 * as DynamoDB items: pure encoding and decoding, no client. The store and the deploy-time seed
 * (a construct) both use it.
 */

export type Item = Record<string, AttributeValue>;

/** The attribute that holds one request's reservation on a counter item. */
export const RESERVATION_PREFIX = 'r#';
/** The attribute that records a sent alert on a counter item. */
export const ALERT_PREFIX = 'a#';
/** The attribute on a counter item that pins the period's shard count (see `shards.ts`). */
export const SHARDS = 'shards';
/** The attribute on a period's first shard that holds its funnel's token (see `shards.ts`). */
export const FUNNELED = 'funneled';
/** The attribute on a period's first shard that says when its funnel began. */
export const FUNNEL_SINCE = 'funnelSince';
/** The attributes on a period's first shard with the limits its funnel began under. */
export const FUNNEL_LIMITS = { pico: 'funnelPico', tokens: 'funnelTokens' } as const;

export const n = (value: bigint | number): AttributeValue => ({ N: value.toString() });
const bigOf = (item: Item | undefined, name: string): bigint => BigInt(item?.[name]?.N ?? '0');
const numOf = (item: Item | undefined, name: string): number => Number(item?.[name]?.N ?? '0');

export function figuresOf(item: Item | undefined): CounterFigures {
  if (!item) return { ...ZERO_FIGURES };
  return {
    spentPico: bigOf(item, 'spentPico'),
    reservedPico: bigOf(item, 'reservedPico'),
    allocatedPico: bigOf(item, 'allocatedPico'),
    spentTokens: numOf(item, 'spentTokens'),
    reservedTokens: numOf(item, 'reservedTokens'),
    allocatedTokens: numOf(item, 'allocatedTokens'),
    alerted: Object.keys(item)
      .filter((name) => name.startsWith(ALERT_PREFIX))
      .map((name) => Number(name.slice(ALERT_PREFIX.length))),
    ...(item[SHARDS]?.N !== undefined ? { shards: Number(item[SHARDS].N) } : {}),
    ...(item[FUNNELED]?.S ? { funnel: item[FUNNELED].S } : {}),
    ...(item[FUNNEL_SINCE]?.N !== undefined ? { funnelSince: Number(item[FUNNEL_SINCE].N) } : {}),
    ...(item[FUNNEL_LIMITS.pico]?.N !== undefined && item[FUNNEL_LIMITS.tokens]?.N !== undefined
      ? {
          funnelLimits: { pico: bigOf(item, FUNNEL_LIMITS.pico), tokens: numOf(item, FUNNEL_LIMITS.tokens) },
        }
      : {}),
  };
}

/** A rate window item's figures (zero for a window never written). */
export function windowFiguresOf(item: Item | undefined): WindowFigures {
  return { requests: numOf(item, 'requests'), tokens: numOf(item, 'tokens') };
}

/** The attribute on a rate window or cache item that expires it (the table's TTL attribute, epoch seconds). */
export const EXPIRES_AT = 'expiresAt';

/** A stored budget definition item back as a definition. */
export function definitionOf(item: Item): BudgetDefinition {
  return {
    costCenter: item.costCenter?.S ?? '',
    ...(item.applicationId?.S ? { applicationId: item.applicationId.S } : {}),
    period: (item.period?.S ?? 'monthly') as Period,
    limitPico: item.limitPico?.N !== undefined ? BigInt(item.limitPico.N) : undefined,
    limitTokens: item.limitTokens?.N !== undefined ? Number(item.limitTokens.N) : undefined,
    alertThresholds: (item.alertThresholds?.L ?? []).map((v) => Number(v.N)),
    ...(item.fit?.S === 'clamp' ? { fit: 'clamp' as const } : {}),
    ...(item.minOutputTokens?.N !== undefined ? { minOutputTokens: Number(item.minOutputTokens.N) } : {}),
    ...(item.rpm?.N !== undefined || item.tpm?.N !== undefined
      ? {
          rateLimits: {
            ...(item.rpm?.N !== undefined ? { requestsPerMinute: Number(item.rpm.N) } : {}),
            ...(item.tpm?.N !== undefined ? { tokensPerMinute: Number(item.tpm.N) } : {}),
          },
        }
      : {}),
    ...(item.policies?.S ? { policies: JSON.parse(item.policies.S) as BudgetPolicy[] } : {}),
    ...(item.cacheTtl?.N !== undefined
      ? {
          cache: {
            ttlSeconds: Number(item.cacheTtl.N),
            ...(item.cacheAnyTemperature?.BOOL ? { anyTemperature: true } : {}),
          },
        }
      : {}),
    ...(item.rps?.N !== undefined ? { expectedRequestsPerSecond: Number(item.rps.N) } : {}),
    ...(item[SHARDS]?.N !== undefined ? { shards: Number(item[SHARDS].N) } : {}),
    source: item.source?.S === 'api' ? 'api' : 'config',
    updatedAt: item.updatedAt?.S,
  };
}

export const keyOf = (key: CounterKey): Item => ({ pk: { S: key.pk }, sk: { S: key.sk } });

/** A reservation marker: amount, when, and what the sweeper needs to account for it. */
export function markerOf(amount: Amount, at: Date, detail: HoldDetail | undefined): Item {
  return {
    p: n(amount.pico),
    t: n(amount.tokens),
    at: n(at.getTime()),
    ...(detail
      ? {
          a: { S: detail.applicationId },
          e: { S: detail.environment },
          m: { S: detail.modelId },
          o: n(detail.outputTokens),
        }
      : {}),
  };
}

/** The reservation markers a counter item holds. */
export function reservationsOf(item: Item): Array<Omit<StaleReservation, 'key'>> {
  return Object.entries(item).flatMap(([name, value]) => {
    const m = value.M;
    if (!name.startsWith(RESERVATION_PREFIX) || !m) return [];
    return [
      {
        requestId: name.slice(RESERVATION_PREFIX.length),
        amount: { pico: BigInt(m.p?.N ?? '0'), tokens: Number(m.t?.N ?? '0') },
        heldSince: new Date(Number(m.at?.N ?? 0)),
        detail:
          m.a?.S && m.e?.S && m.m?.S
            ? {
                applicationId: m.a.S,
                environment: m.e.S,
                modelId: m.m.S,
                outputTokens: Number(m.o?.N ?? '0'),
              }
            : undefined,
      },
    ];
  });
}

/** A budget definition as a DynamoDB item (also what the deploy-time seed writes). */
export function budgetItem(budget: BudgetDefinition, updatedAt?: string): Item {
  return {
    ...keyOf(keys.budget(budget)),
    [REGISTRY_INDEX.partitionKey]: { S: REGISTRY_INDEX.value },
    [REGISTRY_INDEX.sortKey]: {
      S: budget.applicationId ? `${budget.costCenter}#${budget.applicationId}` : budget.costCenter,
    },
    costCenter: { S: budget.costCenter },
    ...(budget.applicationId ? { applicationId: { S: budget.applicationId } } : {}),
    source: { S: budget.source ?? 'config' },
    period: { S: budget.period },
    ...(budget.limitPico !== undefined ? { limitPico: n(budget.limitPico) } : {}),
    ...(budget.limitTokens !== undefined ? { limitTokens: n(budget.limitTokens) } : {}),
    alertThresholds: { L: budget.alertThresholds.map((t) => n(t)) },
    ...(budget.fit ? { fit: { S: budget.fit } } : {}),
    ...(budget.minOutputTokens !== undefined ? { minOutputTokens: n(budget.minOutputTokens) } : {}),
    ...(budget.rateLimits?.requestsPerMinute !== undefined
      ? { rpm: n(budget.rateLimits.requestsPerMinute) }
      : {}),
    ...(budget.rateLimits?.tokensPerMinute !== undefined
      ? { tpm: n(budget.rateLimits.tokensPerMinute) }
      : {}),
    // Kept as JSON text: a policy is read whole, never updated in place.
    ...(budget.policies?.length ? { policies: { S: JSON.stringify(budget.policies) } } : {}),
    ...(budget.cache ? { cacheTtl: n(budget.cache.ttlSeconds) } : {}),
    ...(budget.cache?.anyTemperature ? { cacheAnyTemperature: { BOOL: true } } : {}),
    ...(budget.expectedRequestsPerSecond !== undefined ? { rps: n(budget.expectedRequestsPerSecond) } : {}),
    ...(budget.shards !== undefined && budget.shards > 1 ? { [SHARDS]: n(budget.shards) } : {}),
    ...(updatedAt ? { updatedAt: { S: updatedAt } } : {}),
  };
}

/** A usage aggregate item back as an aggregate. */
export function usageOf(item: Item, costCenter: string): UsageAggregate {
  return {
    day: item.day?.S ?? '',
    costCenter: item.costCenter?.S ?? costCenter,
    applicationId: item.applicationId?.S ?? '',
    environment: item.environment?.S ?? '',
    modelId: item.modelId?.S ?? '',
    requests: numOf(item, 'requests'),
    inputTokens: numOf(item, 'inputTokens'),
    outputTokens: numOf(item, 'outputTokens'),
    cacheReadInputTokens: numOf(item, 'cacheReadInputTokens'),
    cacheWriteInputTokens: numOf(item, 'cacheWriteInputTokens'),
    costPico: bigOf(item, 'costPico'),
    rateLimited: numOf(item, 'rateLimited'),
    downgrades: numOf(item, 'downgrades'),
    cacheHits: numOf(item, 'cacheHits'),
    savedPico: bigOf(item, 'savedPico'),
    maxTokens: numOf(item, 'maxTokens'),
    outputShareTenths: Array.from({ length: 10 }, (_, i) => numOf(item, `ot${i}`)),
  };
}

/** The update that adds one request to its day's usage aggregate (created on first use). */
export function usageUpdate(usage: UsageAggregate): {
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Item;
} {
  // One request adds one to the tenth of max_tokens its answer used (ot0 ... ot9).
  const tenth = usage.outputShareTenths?.findIndex((count) => count > 0);
  return {
    UpdateExpression:
      'SET costCenter = :cc, applicationId = :app, environment = :env, modelId = :model, #day = :day ' +
      'ADD requests :requests, inputTokens :in, outputTokens :out, ' +
      'cacheReadInputTokens :cr, cacheWriteInputTokens :cw, costPico :cost, ' +
      'rateLimited :rl, downgrades :dg, cacheHits :ch, savedPico :saved, maxTokens :mt' +
      (tenth === undefined ? '' : ', #tenth :one'),
    ExpressionAttributeNames: { '#day': 'day', ...(tenth === undefined ? {} : { '#tenth': `ot${tenth}` }) },
    ExpressionAttributeValues: {
      ':cc': { S: usage.costCenter },
      ':app': { S: usage.applicationId },
      ':env': { S: usage.environment },
      ':model': { S: usage.modelId },
      ':day': { S: usage.day },
      ':requests': n(usage.requests),
      ':in': n(usage.inputTokens),
      ':out': n(usage.outputTokens),
      ':cr': n(usage.cacheReadInputTokens),
      ':cw': n(usage.cacheWriteInputTokens),
      ':cost': n(usage.costPico),
      ':rl': n(usage.rateLimited ?? 0),
      ':dg': n(usage.downgrades ?? 0),
      ':ch': n(usage.cacheHits ?? 0),
      ':saved': n(usage.savedPico ?? 0n),
      ':mt': n(usage.maxTokens ?? 0),
      ...(tenth === undefined ? {} : { ':one': n(1) }),
    },
  };
}

/** A cached answer as a DynamoDB item: its text, and when the table's TTL may delete it. */
export function cacheItem(key: CounterKey, answer: string, expiresAt: Date): Item {
  return { ...keyOf(key), answer: { S: answer }, [EXPIRES_AT]: n(Math.ceil(expiresAt.getTime() / 1000)) };
}

/** A cache item back as its text and expiry. */
export function cachedAnswerOf(item: Item | undefined): { answer: string; expiresAt: Date } | undefined {
  const answer = item?.answer?.S;
  if (answer === undefined) return undefined;
  return { answer, expiresAt: new Date(numOf(item, EXPIRES_AT) * 1000) };
}

/** How long a day's system prompt uses stay: the advisor reads at most a month back. */
export const SYSTEM_PROMPT_DAYS = 62;

/** The update that counts one more use of a system prompt on its day (created on first use). */
export function systemPromptUpdate(use: SystemPromptUse & { day: string }): {
  UpdateExpression: string;
  ExpressionAttributeValues: Item;
} {
  const expires = Date.parse(`${use.day}T00:00:00Z`) / 1000 + SYSTEM_PROMPT_DAYS * 86_400;
  return {
    UpdateExpression:
      `SET applicationId = :app, modelId = :model, systemHash = :hash, systemTokens = :tokens, ${EXPIRES_AT} = :exp ` +
      'ADD requests :one',
    ExpressionAttributeValues: {
      ':app': { S: use.applicationId },
      ':model': { S: use.modelId },
      ':hash': { S: use.systemHash },
      ':tokens': n(use.systemTokens),
      ':exp': n(expires),
      ':one': n(use.requests),
    },
  };
}

/** A system prompt use item back as a use. */
export function systemPromptUseOf(item: Item, costCenter: string): SystemPromptUse {
  return {
    costCenter,
    applicationId: item.applicationId?.S ?? '',
    modelId: item.modelId?.S ?? '',
    systemHash: item.systemHash?.S ?? '',
    systemTokens: numOf(item, 'systemTokens'),
    requests: numOf(item, 'requests'),
  };
}
