import { z } from 'zod';
import { contentBlockSchema, systemBlockSchema, toolConfigSchema } from '../content.ts';
import type { ErrorCode, PublicErrorFields } from '../errors.ts';
import type { Usage } from '../pricing.ts';
import type { WireError, WireRequest } from './request.ts';

/**
 * The Bedrock Converse wire format (`POST /model/{modelId}/converse`), so that the AWS SDK's own
 * BedrockRuntimeClient works with its `endpoint` set to the sentry. Tags travel in
 * `requestMetadata`; the answer is Converse's own body; errors use Bedrock's names.
 */

/** Converse fields the sentry does not take, each with why: named in the refusal (they are Bedrock's names, not the client's). */
const UNSUPPORTED_FIELDS: Record<string, string> = {
  guardrailConfig: 'guardrails are billed apart and not metered by the sentry',
  promptVariables: 'prompt management prompts are not metered by the sentry',
  additionalModelResponseFieldPaths: 'extra response fields are not passed back',
  performanceConfig: 'latency-optimized inference is priced apart',
  serviceTier: 'service tiers are priced apart',
  outputConfig: 'structured output configuration is not supported',
};

/** The tags, taken out of requestMetadata; every other entry goes on to Bedrock. */
const TAG_KEYS = ['costCenter', 'applicationId', 'environment'] as const;

const metadataKey = z.string().min(1).max(256);

const schemas = new Map<number, ReturnType<typeof buildSchema>>();

/** The Converse request body (the model ID comes from the path), built once per limit (schemas are not cheap to build). */
export function converseBodySchema(maxMessages: number) {
  let schema = schemas.get(maxMessages);
  if (!schema) {
    schema = buildSchema(maxMessages);
    schemas.set(maxMessages, schema);
  }
  return schema;
}

function buildSchema(maxMessages: number) {
  return z
    .object({
      messages: z
        .array(
          z
            .object({
              role: z.enum(['user', 'assistant']),
              content: z.array(contentBlockSchema).min(1, 'must hold at least one block'),
            })
            .strict(),
        )
        .min(1, 'must hold at least one message')
        .max(maxMessages, `must hold at most ${maxMessages} messages`),
      system: z.array(systemBlockSchema).min(1).optional(),
      inferenceConfig: z
        .object({
          maxTokens: z.number().int('must be a whole number').positive('must be at least 1').optional(),
          temperature: z.number().min(0).max(1).optional(),
          topP: z.number().min(0).max(1).optional(),
          stopSequences: z.array(z.string().min(1).max(256)).max(4).optional(),
        })
        .strict()
        .optional(),
      toolConfig: toolConfigSchema.optional(),
      additionalModelRequestFields: z
        .union([
          z.object({ top_k: z.number().int().min(1).max(500) }).strict(),
          z
            .object({ inferenceConfig: z.object({ topK: z.number().int().min(1).max(500) }).strict() })
            .strict(),
        ])
        .optional(),
      requestMetadata: z
        .record(metadataKey, z.string().max(256))
        .refine((m) => Object.keys(m).length <= 16, 'must hold at most 16 entries')
        .optional(),
    })
    .strict();
}

/** The Converse fields in a body the sentry does not take, with why; empty when there are none. */
export function unsupportedConverseFields(body: unknown): Array<{ path: string; message: string }> {
  if (!body || typeof body !== 'object') return [];
  return Object.keys(UNSUPPORTED_FIELDS)
    .filter((field) => Object.hasOwn(body, field))
    .map((field) => ({ path: field, message: `is not supported: ${UNSUPPORTED_FIELDS[field]}` }));
}

/** Read a parsed Converse body as a wire request for `modelId`. */
export function fromConverse(
  modelId: string,
  body: z.infer<ReturnType<typeof converseBodySchema>>,
): WireRequest {
  const { requestMetadata = {}, inferenceConfig = {}, additionalModelRequestFields } = body;
  const metadata = Object.fromEntries(
    Object.entries(requestMetadata).filter(([key]) => !(TAG_KEYS as readonly string[]).includes(key)),
  );
  const topK =
    additionalModelRequestFields === undefined
      ? undefined
      : 'top_k' in additionalModelRequestFields
        ? additionalModelRequestFields.top_k
        : additionalModelRequestFields.inferenceConfig.topK;
  return {
    model: modelId,
    ...(body.system ? { system: body.system } : {}),
    messages: body.messages,
    ...(body.toolConfig ? { toolConfig: body.toolConfig } : {}),
    parameters: {
      maxTokens: inferenceConfig.maxTokens,
      temperature: inferenceConfig.temperature,
      topP: inferenceConfig.topP,
      topK,
      stopSequences: inferenceConfig.stopSequences,
    },
    tags: {
      costCenter: requestMetadata.costCenter,
      applicationId: requestMetadata.applicationId,
      environment: requestMetadata.environment,
    },
    ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
  };
}

/** Converse's answer body. */
export interface ConverseAnswer {
  output: { message: { role: 'assistant'; content: unknown[] } };
  stopReason: string;
  usage: Usage;
  metrics: { latencyMs: number };
}

/** Converse's own answer body for an invocation. */
export function toConverse(invocation: {
  content: unknown[];
  stopReason: string;
  usage: Usage;
  latencyMs: number;
}): ConverseAnswer {
  return {
    output: { message: { role: 'assistant', content: invocation.content } },
    stopReason: invocation.stopReason,
    usage: invocation.usage,
    metrics: { latencyMs: invocation.latencyMs },
  };
}

/** Bedrock's statuses of its own exception names, for model errors passed through. */
export const BEDROCK_ERROR_STATUS: Record<string, number> = {
  ValidationException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  ServiceQuotaExceededException: 400,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};

/** Our code as Bedrock names it (status and exception name); model errors keep Bedrock's own. */
const BY_CODE: Partial<Record<ErrorCode, [number, string]>> = {
  INVALID_REQUEST: [400, 'ValidationException'],
  UNKNOWN_MODEL: [400, 'ValidationException'],
  MODEL_RETIRED: [400, 'ValidationException'],
  PAYLOAD_TOO_LARGE: [400, 'ValidationException'],
  UNSUPPORTED_MEDIA_TYPE: [400, 'ValidationException'],
  IDEMPOTENCY_KEY_REUSED: [400, 'ValidationException'],
  IDEMPOTENCY_IN_PROGRESS: [409, 'ConflictException'],
  UNAUTHORIZED: [403, 'AccessDeniedException'],
  FORBIDDEN: [403, 'AccessDeniedException'],
  UNKNOWN_COST_CENTER: [403, 'AccessDeniedException'],
  NOT_FOUND: [404, 'ResourceNotFoundException'],
  METHOD_NOT_ALLOWED: [405, 'ValidationException'],
  RATE_LIMITED: [429, 'ThrottlingException'],
  MODEL_THROTTLED: [429, 'ThrottlingException'],
  MODEL_TIMEOUT: [408, 'ModelTimeoutException'],
  MODEL_ERROR: [502, 'ModelErrorException'],
  INTERNAL_ERROR: [500, 'InternalServerException'],
};

/**
 * One of our errors in Bedrock's shape: `{"message"}` and the `x-amzn-ErrorType` header. A spent
 * budget is ServiceQuotaExceededException (400: the SDK does not retry it); one held by requests
 * in flight is ThrottlingException (429: the SDK retries it).
 */
export function converseError(code: ErrorCode, fields: PublicErrorFields, requestId: string): WireError {
  let [status, type] = BY_CODE[code] ?? [500, 'InternalServerException'];
  if (code === 'BUDGET_EXCEEDED' || code === 'BUDGET_POLICY') {
    [status, type] =
      fields.reason === 'held' ? [429, 'ThrottlingException'] : [400, 'ServiceQuotaExceededException'];
  }
  if (code === 'MODEL_ERROR' && fields.upstream && BEDROCK_ERROR_STATUS[fields.upstream] !== undefined) {
    [status, type] = [BEDROCK_ERROR_STATUS[fields.upstream] as number, fields.upstream];
  }
  const retryAfter = fields.retryAfterSeconds;
  return {
    status,
    headers: {
      'x-amzn-ErrorType': type,
      ...(retryAfter !== undefined && status === 429 ? { 'Retry-After': String(retryAfter) } : {}),
    },
    body: { message: fields.message, code, requestId },
  };
}
