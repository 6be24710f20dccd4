import { z } from 'zod';
import { ERRORS } from '../../lambdas/shared/rules/errors.ts';
import { converseBodySchema } from '../../lambdas/shared/rules/wire/converse.ts';
import { chatRequestSchema } from '../../lambdas/shared/rules/wire/openai-schema.ts';
import { invokeRequestSchema } from '../../lambdas/validate-request/schema.ts';

/**
 * The components of GET /openapi.json: the request bodies from the zod schemas the handlers parse
 * with, the answers and errors written out.
 */

/**
 * A zod schema as a component. Recursive parts (JSON values) come as `$defs` of the schema's own
 * root; as a component, their references must name the component.
 */
const jsonSchema = (name: string, schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    unrepresentable: 'any',
    io: 'input',
  }) as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest).replaceAll('"#/$defs/', `"#/components/schemas/${name}/$defs/`));
};

const usage = {
  type: 'object',
  required: ['inputTokens', 'outputTokens', 'totalTokens'],
  properties: {
    inputTokens: { type: 'integer' },
    outputTokens: { type: 'integer' },
    totalTokens: { type: 'integer' },
    cacheReadInputTokens: { type: 'integer' },
    cacheWriteInputTokens: { type: 'integer' },
  },
};

const budget = {
  type: 'object',
  required: ['costCenter', 'period', 'periodKey', 'spentUsd', 'reservedUsd', 'resetsAt'],
  properties: {
    costCenter: { type: 'string' },
    applicationId: { type: 'string' },
    period: { type: 'string' },
    periodKey: { type: 'string' },
    limitUsd: { type: 'number' },
    spentUsd: { type: 'number' },
    reservedUsd: { type: 'number' },
    remainingUsd: { type: 'number' },
    resetsAt: { type: 'string' },
  },
};

const CODES = [...new Set(Object.values(ERRORS).map((e) => e.code))];

/** The document's components: the bodies every route takes and answers. */
export function openApiSchemas(limits: { maxMessages: number; maxContentChars: number }) {
  return {
    InvokeRequest: jsonSchema(
      'InvokeRequest',
      invokeRequestSchema(limits.maxMessages, limits.maxContentChars),
    ),
    ConverseRequest: jsonSchema('ConverseRequest', converseBodySchema(limits.maxMessages)),
    ChatCompletionRequest: jsonSchema('ChatCompletionRequest', chatRequestSchema()),
    Usage: usage,
    Budget: budget,
    InvokeResponse: {
      type: 'object',
      required: [
        'requestId',
        'model',
        'output',
        'stopReason',
        'usage',
        'cost',
        'budget',
        'tags',
        'latencyMs',
      ],
      properties: {
        requestId: { type: 'string' },
        model: {
          type: 'object',
          required: ['alias', 'modelId'],
          properties: { alias: { type: 'string' }, modelId: { type: 'string' } },
        },
        output: {
          type: 'object',
          required: ['role', 'content'],
          properties: {
            role: { const: 'assistant' },
            content: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }] },
          },
        },
        stopReason: { type: 'string' },
        usage: { $ref: '#/components/schemas/Usage' },
        cost: {
          type: 'object',
          required: ['usd', 'priceVersion'],
          properties: { usd: { type: 'number' }, priceVersion: { type: 'string' } },
        },
        budget: { $ref: '#/components/schemas/Budget' },
        applicationBudget: { $ref: '#/components/schemas/Budget' },
        tags: { type: 'object' },
        latencyMs: { type: 'object' },
        warnings: { type: 'array', items: { type: 'string' } },
      },
    },
    ConverseResponse: {
      type: 'object',
      required: ['output', 'stopReason', 'usage', 'metrics'],
      properties: {
        output: {
          type: 'object',
          required: ['message'],
          properties: {
            message: {
              type: 'object',
              required: ['role', 'content'],
              properties: {
                role: { const: 'assistant' },
                content: { type: 'array', items: { type: 'object' } },
              },
            },
          },
        },
        stopReason: { type: 'string' },
        usage: { $ref: '#/components/schemas/Usage' },
        metrics: { type: 'object', required: ['latencyMs'], properties: { latencyMs: { type: 'integer' } } },
      },
    },
    ChatCompletion: {
      type: 'object',
      required: ['id', 'object', 'created', 'model', 'choices', 'usage', 'cost_sentry'],
      properties: {
        id: { type: 'string' },
        object: { const: 'chat.completion' },
        created: { type: 'integer' },
        model: { type: 'string' },
        choices: {
          type: 'array',
          items: {
            type: 'object',
            required: ['index', 'message', 'finish_reason'],
            properties: {
              index: { type: 'integer' },
              message: { type: 'object', required: ['role'], properties: { role: { const: 'assistant' } } },
              finish_reason: { enum: ['stop', 'length', 'tool_calls', 'content_filter'] },
            },
          },
        },
        usage: {
          type: 'object',
          required: ['prompt_tokens', 'completion_tokens', 'total_tokens'],
          properties: {
            prompt_tokens: { type: 'integer' },
            completion_tokens: { type: 'integer' },
            total_tokens: { type: 'integer' },
            prompt_tokens_details: { type: 'object', properties: { cached_tokens: { type: 'integer' } } },
          },
        },
        cost_sentry: { type: 'object', required: ['requestId', 'cost', 'budget'] },
      },
    },
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { enum: CODES },
            message: { type: 'string' },
            requestId: { type: 'string' },
            details: {
              type: 'array',
              maxItems: 20,
              items: {
                type: 'object',
                required: ['path', 'message'],
                properties: { path: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    BedrockError: {
      type: 'object',
      required: ['message'],
      properties: { message: { type: 'string' } },
    },
    OpenAiError: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['message', 'type', 'param', 'code'],
          properties: {
            message: { type: 'string' },
            type: { type: 'string' },
            param: { type: ['string', 'null'] },
            code: { type: ['string', 'null'] },
          },
        },
      },
    },
  };
}
