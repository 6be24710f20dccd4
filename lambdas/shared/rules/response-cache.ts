import { createHash } from 'node:crypto';
import type { ChatMessage, ContentBlock, InferenceParameters, SystemBlock, ToolConfig } from './content.ts';
import type { Usage } from './pricing.ts';

/**
 * The response cache's rules: which answers may be kept and served again, under which key. A
 * budget opts in (`cache: { ttlSeconds }`); a hit is answered from the table, charged nothing.
 */

/** A budget's cache setting. */
export interface CachePolicy {
  ttlSeconds: number;
  /** Serve answers sampled at any temperature, not only deterministic ones (temperature 0). */
  anyTemperature?: boolean | undefined;
}

/** What identifies an answer: everything that shapes it, and nothing of who asked. */
export interface CacheableRequest {
  modelId: string;
  system?: SystemBlock[] | undefined;
  messages: ChatMessage[];
  toolConfig?: ToolConfig | undefined;
  parameters: InferenceParameters;
}

/** An item stays well under DynamoDB's 400 KB item limit with its keys and attributes. */
export const MAX_CACHED_ANSWER_BYTES = 350_000;

/** JSON with object keys sorted at every level, so equal requests give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The cache key: a SHA-256 of the canonical request, scoped to the cost center (never shared
 * across cost centers: one tenant's answer is never another's).
 */
export function cacheKey(costCenter: string, request: CacheableRequest): string {
  const canonical = canonicalJson({
    modelId: request.modelId,
    system: request.system,
    messages: request.messages,
    toolConfig: request.toolConfig,
    parameters: request.parameters,
  });
  return createHash('sha256').update(costCenter).update('\n').update(canonical).digest('hex');
}

/** Whether a request's answer may come from (and go to) the cache under this policy. */
export function isCacheable(
  request: Pick<CacheableRequest, 'parameters'>,
  policy: CachePolicy | undefined,
  noCache: boolean,
): boolean {
  if (!policy || noCache) return false;
  return policy.anyTemperature === true || request.parameters.temperature === 0;
}

/** Whether a Cache-Control header asks to skip the cache for this request. */
export function asksNoCache(cacheControl: string | undefined): boolean {
  return (cacheControl ?? '')
    .split(',')
    .map((directive) => directive.trim().toLowerCase())
    .some((directive) => directive === 'no-cache' || directive === 'no-store');
}

/** What a cache item keeps: the model's answer as InvokeModel gave it, never who asked. */
export interface CachedAnswer {
  content: ContentBlock[];
  stopReason: string;
  usage: Usage;
  /** The model's latency when it answered, in milliseconds. */
  latencyMs: number;
}

/** A hit, as ReserveBudget hands it to the step that answers it: nothing reserved, Bedrock not called. */
export interface CacheHit {
  answer: CachedAnswer;
}

/**
 * The cache item's text for an answer, or undefined when it is too large to keep (it would come
 * near DynamoDB's 400 KB item limit).
 */
export function cacheItemText(answer: CachedAnswer): string | undefined {
  const text = JSON.stringify(answer);
  return Buffer.byteLength(text) > MAX_CACHED_ANSWER_BYTES ? undefined : text;
}

/**
 * A stored answer back, when it has not expired at `now` (epoch milliseconds). The table's TTL
 * deletes expired items only eventually (and the local table never), so expiry is checked here.
 */
export function freshAnswer(
  stored: { answer: string; expiresAt: Date } | undefined,
  now: number,
): CachedAnswer | undefined {
  if (!stored || stored.expiresAt.getTime() <= now) return undefined;
  return JSON.parse(stored.answer) as CachedAnswer;
}

/** When an answer kept at `now` under this policy expires. */
export function cacheExpiry(policy: CachePolicy, now: number): Date {
  return new Date(now + policy.ttlSeconds * 1000);
}

/** The stop reasons of an answer worth keeping: a filtered or guardrailed answer never is. */
export const CACHEABLE_STOP_REASONS: readonly string[] = [
  'end_turn',
  'stop_sequence',
  'max_tokens',
  'tool_use',
];
