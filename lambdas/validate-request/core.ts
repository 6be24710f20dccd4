import { createHash } from 'node:crypto';
import { authorizeTags, bindingOf, callerIdOf } from '../shared/rules/callers.ts';
import {
  type Catalog,
  priceOf,
  priceVersionAt,
  resolveModel,
  retiredModel,
} from '../shared/rules/catalog.ts';
import { contentTokenBound, UnboundableContentError } from '../shared/rules/content.ts';
import {
  type ErrorDetail,
  InvalidRequestError,
  ModelRetiredError,
  PayloadTooLargeError,
  UnknownModelError,
} from '../shared/rules/errors.ts';
import { worstCaseCost } from '../shared/rules/pricing.ts';
import { TAG_VALUE } from '../shared/rules/tags.ts';
import type { ExecutionInput, Message, Tags, ValidatedRequest } from '../shared/rules/types.ts';
import { FIELD_PATHS, readWire } from './wire-in.ts';

/** What an Idempotency-Key may be. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** What Bedrock's requestMetadata holds at most, and what the sentry itself sends in it. */
const MAX_METADATA_ENTRIES = 16;
const SENTRY_METADATA_ENTRIES = 4; // the three tags and the request ID

/**
 * Validate a request that came by any route: read its wire format, then the same rules for every
 * route (tags and the caller's binding, model, environment, output cap, content the model can
 * take), then price its worst case. Throws a SentryError for anything a client must fix.
 */
export function validateRequest(
  input: ExecutionInput,
  catalog: Catalog,
  options: { openCallers?: boolean; profiles?: Record<string, Record<string, string>> } = {},
): ValidatedRequest {
  const { maxBodyBytes, maxMessages, maxContentChars } = catalog.limits;
  if (input.bodyTooLarge) throw new PayloadTooLargeError(maxBodyBytes);
  if (input.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(input.idempotencyKey)) {
    throw new InvalidRequestError('The Idempotency-Key header is invalid.', [
      {
        path: 'headers.Idempotency-Key',
        message: 'must be 1 to 255 printable ASCII characters without spaces',
      },
    ]);
  }
  const route = input.route ?? 'invoke';
  const paths = FIELD_PATHS[route];
  const body = input.body ?? '';
  const request = readWire(
    route,
    body,
    { maxMessages, maxContentChars },
    input.modelId,
    input.stream === true,
  );

  const { tags, fromBinding } = tagsOf(request.tags, input.caller, paths.tags);
  authorizeTags(input.caller, tags, catalog.callers, options.openCallers ?? false);

  const retired = retiredModel(catalog, request.model);
  if (retired) throw new ModelRetiredError(retired.alias, retired.retiredOn, retired.replacement);
  const resolved = resolveModel(catalog, request.model);
  // A cost center with its own application inference profile is billed through it.
  const profile = resolved && options.profiles?.[tags.costCenter]?.[resolved.alias];
  const model = resolved && profile ? { ...resolved, invokeModelId: profile } : resolved;
  if (!model) {
    throw new UnknownModelError(
      `The model is not in the catalog. Known aliases: ${Object.keys(catalog.models).join(', ')}.`,
    );
  }

  const parameterPath = (name: string) => (paths.parameters ? `${paths.parameters}.${name}` : name);
  const details: ErrorDetail[] = [
    ...conversationProblems(request.messages, paths.messages, maxContentChars, maxMessages),
    ...(request.system ?? []).flatMap((block, b) =>
      'text' in block && block.text.length > maxContentChars
        ? [{ path: `system[${b}].text`, message: `must be at most ${maxContentChars} characters` }]
        : [],
    ),
  ];
  if (!catalog.environments.includes(tags.environment)) {
    details.push({
      path: `${paths.tags}.environment`,
      message: `must be one of ${catalog.environments.join(', ')}`,
    });
  }
  const { parameters } = request;
  const maxTokens = parameters.maxTokens ?? model.maxOutputTokens;
  if (maxTokens > model.maxOutputTokens) {
    details.push({
      path: parameterPath(
        route === 'openai' ? 'max_tokens' : route === 'converse' ? 'maxTokens' : 'max_tokens',
      ),
      message: `must be at most ${model.maxOutputTokens}, the cap of ${model.alias}`,
    });
  }
  if (parameters.temperature !== undefined && parameters.temperature > 1) {
    details.push({ path: parameterPath('temperature'), message: `must be at most 1 for ${model.alias}` });
  }
  if (parameters.topK !== undefined && model.topK === 'none') {
    details.push({
      path: parameterPath(route === 'converse' ? 'topK' : 'top_k'),
      message: `${model.alias} does not take top_k`,
    });
  }
  const metadataEntries = Object.keys(request.metadata ?? {}).length;
  if (metadataEntries > MAX_METADATA_ENTRIES - SENTRY_METADATA_ENTRIES) {
    details.push({
      path: paths.tags,
      message: `holds at most ${MAX_METADATA_ENTRIES - SENTRY_METADATA_ENTRIES} entries besides the tags`,
    });
  }
  if (details.length > 0) throw new InvalidRequestError('The request does not match the schema.', details);

  const prompt = {
    ...(request.system ? { system: request.system } : {}),
    messages: request.messages,
    ...(request.toolConfig ? { toolConfig: request.toolConfig } : {}),
  };
  let inputTokens: number;
  try {
    inputTokens = contentTokenBound(prompt, model);
  } catch (error) {
    if (!(error instanceof UnboundableContentError)) throw error;
    throw new InvalidRequestError(`The request holds content ${model.alias} cannot take here.`, [
      {
        path: error.path.startsWith('messages')
          ? `${paths.messages}${error.path.slice('messages'.length)}`
          : error.path,
        message: error.message,
      },
    ]);
  }

  const receivedAt = new Date(input.receivedAt);
  const priceVersion = priceVersionAt(catalog, receivedAt);
  const costPico = worstCaseCost(inputTokens, maxTokens, priceOf(catalog, priceVersion, model.modelId));

  return {
    requestId: input.requestId,
    receivedAt: input.receivedAt,
    ...(route === 'invoke' ? {} : { route }),
    model,
    prompt: {
      ...prompt,
      parameters: {
        maxTokens,
        temperature: parameters.temperature,
        topP: parameters.topP,
        topK: parameters.topK,
        stopSequences: parameters.stopSequences,
      },
    },
    tags,
    ...(fromBinding ? { tagsFrom: 'binding' as const } : {}),
    ...(request.metadata ? { metadata: request.metadata } : {}),
    callerId: callerIdOf(input.caller),
    ...(input.idempotencyKey !== undefined
      ? {
          idempotency: {
            key: input.idempotencyKey,
            bodyHash: createHash('sha256')
              // A streamed answer is kept in another shape: the same body streamed is another request.
              .update(`${route}${input.stream ? '-stream' : ''}\n${input.modelId ?? ''}\n${body}`)
              .digest('hex'),
          },
        }
      : {}),
    ...(input.noCache === true ? { noCache: true as const } : {}),
    estimate: {
      inputTokens,
      outputTokens: maxTokens,
      tokens: inputTokens + maxTokens,
      costPico: costPico.toString(),
      priceVersion,
    },
  };
}

const TAG_NAMES = ['applicationId', 'costCenter', 'environment'] as const;

/**
 * The request's tags, each checked against the tag value rule. A tag left out is taken from the
 * caller's API key when its binding names exactly one value for it; otherwise it is required.
 */
function tagsOf(
  given: Partial<Tags>,
  caller: ExecutionInput['caller'],
  at: string,
): { tags: Tags; fromBinding: boolean } {
  const binding = caller?.keyId ? bindingOf(caller, []) : undefined;
  const single = (values: string[] | undefined) => (values?.length === 1 ? values[0] : undefined);
  const bound: Partial<Tags> = {
    costCenter: single(binding?.costCenters),
    applicationId: single(binding?.applicationIds),
    environment: single(binding?.environments),
  };
  const details: ErrorDetail[] = [];
  let fromBinding = false;
  const tags = {} as Tags;
  for (const name of TAG_NAMES) {
    const value = given[name] ?? bound[name];
    if (given[name] === undefined && value !== undefined) fromBinding = true;
    if (value === undefined) {
      details.push({
        path: `${at}.${name}`,
        message: 'is required (an API key bound to exactly one value may leave it out)',
      });
    } else if (!TAG_VALUE.test(value)) {
      details.push({
        path: `${at}.${name}`,
        message:
          'must be 1 to 64 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
      });
    } else tags[name] = value;
  }
  if (details.length > 0) throw new InvalidRequestError('The request does not match the schema.', details);
  return { tags, fromBinding };
}

/** Roles alternate, starting with the user; text is not blank and within the limit. */
function conversationProblems(
  messages: Message[],
  at: string,
  maxContentChars: number,
  maxMessages: number,
): ErrorDetail[] {
  // Every route's messages once translated (OpenAI's system and tool turns fold into fewer).
  if (messages.length === 0)
    return [{ path: at, message: 'must hold at least one user or assistant message' }];
  if (messages.length > maxMessages)
    return [{ path: at, message: `must hold at most ${maxMessages} messages` }];
  const problems: ErrorDetail[] = [];
  messages.forEach((message, index) => {
    const expected = index % 2 === 0 ? 'user' : 'assistant';
    if (message.role !== expected) {
      problems.push({
        path: `${at}[${index}].role`,
        message: `must be '${expected}': roles alternate, starting with 'user'`,
      });
    }
    message.content.forEach((block, b) => {
      if (!('text' in block)) return;
      if (block.text.trim().length === 0)
        problems.push({ path: `${at}[${index}].content[${b}].text`, message: 'must not be blank' });
      else if (block.text.length > maxContentChars) {
        problems.push({
          path: `${at}[${index}].content[${b}].text`,
          message: `must be at most ${maxContentChars} characters`,
        });
      }
    });
  });
  return problems;
}
