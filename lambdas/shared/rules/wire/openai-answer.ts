import type { ContentBlock } from '../content.ts';
import type { ErrorCode, PublicErrorFields } from '../errors.ts';
import type { Usage } from '../pricing.ts';
import type { WireError } from './request.ts';

/**
 * OpenAI's Chat Completions out: answers, finish reasons and usage, and errors in the shape and
 * types the `openai` client libraries read (request translation is in openai.ts).
 */

/** OpenAI's finish reason for a Converse stop reason. */
export function finishReasonOf(stopReason: string): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  switch (stopReason) {
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** OpenAI's usage for Bedrock's: prompt tokens include the cached ones, as OpenAI counts them. */
export function openAiUsage(usage: Usage) {
  const prompt = usage.inputTokens + usage.cacheReadInputTokens + usage.cacheWriteInputTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.outputTokens,
    total_tokens: prompt + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cacheReadInputTokens },
  };
}

/** A chat completion for an invocation, with the `cost_sentry` extension. */
export function toOpenAi(
  answer: {
    requestId: string;
    created: number;
    model: string;
    content: ContentBlock[];
    stopReason: string;
    usage: Usage;
  },
  extension: Record<string, unknown>,
) {
  const text = answer.content.flatMap((b) => ('text' in b ? [b.text] : [])).join('');
  const toolCalls = answer.content.flatMap((b) =>
    'toolUse' in b
      ? [
          {
            id: b.toolUse.toolUseId,
            type: 'function' as const,
            function: { name: b.toolUse.name, arguments: JSON.stringify(b.toolUse.input) },
          },
        ]
      : [],
  );
  return {
    id: `chatcmpl-${answer.requestId}`,
    object: 'chat.completion' as const,
    created: answer.created,
    model: answer.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant' as const,
          content: text.length > 0 || toolCalls.length === 0 ? text : null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          refusal: null,
        },
        finish_reason: finishReasonOf(answer.stopReason),
        logprobs: null,
      },
    ],
    usage: openAiUsage(answer.usage),
    cost_sentry: extension,
  };
}

/** Our code as OpenAI types it: status and type (and `code`, which the clients read). */
const BY_CODE: Partial<Record<ErrorCode, [number, string]>> = {
  INVALID_REQUEST: [400, 'invalid_request_error'],
  UNKNOWN_MODEL: [400, 'invalid_request_error'],
  MODEL_RETIRED: [400, 'invalid_request_error'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'invalid_request_error'],
  PAYLOAD_TOO_LARGE: [413, 'invalid_request_error'],
  IDEMPOTENCY_KEY_REUSED: [422, 'invalid_request_error'],
  IDEMPOTENCY_IN_PROGRESS: [409, 'invalid_request_error'],
  NOT_FOUND: [404, 'invalid_request_error'],
  METHOD_NOT_ALLOWED: [405, 'invalid_request_error'],
  UNAUTHORIZED: [401, 'authentication_error'],
  FORBIDDEN: [403, 'permission_error'],
  UNKNOWN_COST_CENTER: [403, 'permission_error'],
  RATE_LIMITED: [429, 'rate_limit_error'],
  MODEL_THROTTLED: [503, 'api_error'],
  MODEL_ERROR: [502, 'api_error'],
  MODEL_TIMEOUT: [504, 'api_error'],
  INTERNAL_ERROR: [500, 'api_error'],
};

/**
 * One of our errors in OpenAI's shape. A spent budget is `insufficient_quota` with
 * `x-should-retry: false`, so the `openai` client does not retry it; a wait that helps carries
 * `retry-after` and `retry-after-ms`.
 */
export function openAiError(
  code: ErrorCode,
  fields: PublicErrorFields,
  requestId: string,
  param: string | null = null,
): WireError {
  let [status, type] = BY_CODE[code] ?? [500, 'api_error'];
  const spent = (code === 'BUDGET_EXCEEDED' || code === 'BUDGET_POLICY') && fields.reason !== 'held';
  if (code === 'BUDGET_EXCEEDED' || code === 'BUDGET_POLICY') {
    [status, type] = spent ? [429, 'insufficient_quota'] : [429, 'rate_limit_error'];
  }
  const retryAfter = fields.retryAfterSeconds;
  const waitHelps = !spent && retryAfter !== undefined && (status === 429 || status === 503);
  return {
    status,
    headers: {
      ...(spent || code === 'MODEL_ERROR' ? { 'x-should-retry': 'false' } : {}),
      ...(waitHelps
        ? { 'retry-after': String(retryAfter), 'retry-after-ms': String(retryAfter * 1000) }
        : {}),
    },
    body: {
      error: {
        message: fields.message,
        type,
        param: param ?? paramOf(fields),
        code: spent ? 'insufficient_quota' : code.toLowerCase(),
        request_id: requestId,
        ...(fields.budget ? { budget: fields.budget } : {}),
      },
    },
  };
}

/** The first detail's path, as OpenAI's `param` (our schema's names, never the client's text). */
function paramOf(fields: PublicErrorFields): string | null {
  return fields.details?.[0]?.path || null;
}
