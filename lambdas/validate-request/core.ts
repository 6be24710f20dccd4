import { createHash } from 'node:crypto';
import { authorizeTags, callerIdOf } from '../shared/rules/callers.ts';
import {
  type Catalog,
  priceOf,
  priceVersionAt,
  resolveModel,
  retiredModel,
} from '../shared/rules/catalog.ts';
import {
  type ErrorDetail,
  InvalidRequestError,
  ModelRetiredError,
  PayloadTooLargeError,
  UnknownModelError,
} from '../shared/rules/errors.ts';
import { parseJsonBody } from '../shared/rules/json-body.ts';
import { inputTokenBound, worstCaseCost } from '../shared/rules/pricing.ts';
import type { ExecutionInput, ValidatedRequest } from '../shared/rules/types.ts';
import { invokeRequestSchema } from './schema.ts';

/** What an Idempotency-Key may be. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Validate an invoke request: body, schema, model, environment and output cap; then price its
 * worst case. Throws a SentryError for anything a client must fix.
 */
export function validateRequest(
  input: ExecutionInput,
  catalog: Catalog,
  options: { openCallers?: boolean; profiles?: Record<string, Record<string, string>> } = {},
): ValidatedRequest {
  const { maxBodyBytes, maxMessages } = catalog.limits;
  if (input.bodyTooLarge) throw new PayloadTooLargeError(maxBodyBytes);
  if (input.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(input.idempotencyKey)) {
    throw new InvalidRequestError('The Idempotency-Key header is invalid.', [
      {
        path: 'headers.Idempotency-Key',
        message: 'must be 1 to 255 printable ASCII characters without spaces',
      },
    ]);
  }
  const body = input.body ?? '';
  const request = parseJsonBody(
    body,
    invokeRequestSchema(maxMessages, catalog.limits.maxContentChars),
    'The request',
  );
  authorizeTags(input.caller, request.tags, catalog.callers, options.openCallers ?? false);

  const retired = retiredModel(catalog, request.model);
  if (retired) throw new ModelRetiredError(retired.alias, retired.retiredOn, retired.replacement);
  const resolved = resolveModel(catalog, request.model);
  // A cost center with its own application inference profile is billed through it.
  const profile = resolved && options.profiles?.[request.tags.costCenter]?.[resolved.alias];
  const model = resolved && profile ? { ...resolved, invokeModelId: profile } : resolved;
  if (!model) {
    throw new UnknownModelError(
      `The model is not in the catalog. Known aliases: ${Object.keys(catalog.models).join(', ')}.`,
    );
  }

  const details: ErrorDetail[] = [];
  if (!catalog.environments.includes(request.tags.environment)) {
    details.push({ path: 'tags.environment', message: `must be one of ${catalog.environments.join(', ')}` });
  }
  const parameters = request.prompt.parameters ?? {};
  const maxTokens = parameters.max_tokens ?? model.maxOutputTokens;
  if (maxTokens > model.maxOutputTokens) {
    details.push({
      path: 'prompt.parameters.max_tokens',
      message: `must be at most ${model.maxOutputTokens}, the cap of ${model.alias}`,
    });
  }
  if (parameters.top_k !== undefined && model.topK === 'none') {
    details.push({ path: 'prompt.parameters.top_k', message: `${model.alias} does not take top_k` });
  }
  if (details.length > 0) throw new InvalidRequestError('The request does not match the schema.', details);

  const receivedAt = new Date(input.receivedAt);
  const priceVersion = priceVersionAt(catalog, receivedAt);
  const inputTokens = inputTokenBound(request.prompt);
  const costPico = worstCaseCost(inputTokens, maxTokens, priceOf(catalog, priceVersion, model.modelId));

  return {
    requestId: input.requestId,
    receivedAt: input.receivedAt,
    model,
    prompt: {
      ...(request.prompt.system !== undefined ? { system: request.prompt.system } : {}),
      messages: request.prompt.messages,
      parameters: {
        maxTokens,
        temperature: parameters.temperature,
        topP: parameters.top_p,
        topK: parameters.top_k,
        stopSequences: parameters.stop_sequences,
      },
    },
    tags: request.tags,
    callerId: callerIdOf(input.caller),
    ...(input.idempotencyKey !== undefined
      ? {
          idempotency: {
            key: input.idempotencyKey,
            bodyHash: createHash('sha256').update(body).digest('hex'),
          },
        }
      : {}),
    estimate: {
      inputTokens,
      outputTokens: maxTokens,
      tokens: inputTokens + maxTokens,
      costPico: costPico.toString(),
      priceVersion,
    },
  };
}
