import { createHash } from 'node:crypto';
import type { ChatMessage, SystemBlock, ToolConfig } from './content.ts';
import type { InferenceParameters } from './types.ts';

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
