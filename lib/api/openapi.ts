import { z } from 'zod';
import { ERRORS } from '../../lambdas/shared/rules/errors.ts';
import { converseBodySchema } from '../../lambdas/shared/rules/wire/converse.ts';
import { chatRequestSchema } from '../../lambdas/shared/rules/wire/openai-schema.ts';
import { invokeRequestSchema } from '../../lambdas/validate-request/schema.ts';

/**
 * GET /openapi.json: an OpenAPI 3.1 document of every route. The request bodies are the very zod
 * schemas ValidateRequest and the admin API parse with; the answers are written here, and a test
 * checks real answers of the local stack against them.
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

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const answers = (ok: string, error: string, statuses: number[]) => ({
  '200': { description: 'The answer', ...json(ref(ok)) },
  ...Object.fromEntries(statuses.map((s) => [String(s), { description: 'An error', ...json(ref(error)) }])),
});

const WORKFLOW_STATUSES = [400, 401, 403, 408, 409, 413, 415, 422, 424, 429, 500, 502, 503, 504];

/** The whole document. */
export function openApiDocument(limits: { maxMessages: number; maxContentChars: number }) {
  const post = (
    summary: string,
    request: string,
    ok: string,
    error: string,
    extra: Record<string, unknown> = {},
  ) => ({
    post: {
      summary,
      requestBody: { required: true, ...json(ref(request)) },
      responses: answers(ok, error, WORKFLOW_STATUSES),
      ...extra,
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cost Sentry',
      version: '1',
      description:
        'A cost guard for Amazon Bedrock: one workflow behind three wire formats, every call reserved against a hard budget cap.',
    },
    paths: {
      '/v1/invoke': post('Invoke a model in the seed format', 'InvokeRequest', 'InvokeResponse', 'Error'),
      '/model/{modelId}/converse': post(
        "Bedrock's Converse wire (the AWS SDK's BedrockRuntimeClient works with its endpoint set here)",
        'ConverseRequest',
        'ConverseResponse',
        'BedrockError',
        {
          parameters: [
            {
              name: 'modelId',
              in: 'path',
              required: true,
              schema: { type: 'string' },
              description: 'An alias, catalog model ID or profile ID',
            },
          ],
        },
      ),
      '/v1/chat/completions': post(
        "OpenAI's Chat Completions (the openai client libraries work with their base URL set to /v1)",
        'ChatCompletionRequest',
        'ChatCompletion',
        'OpenAiError',
      ),
      '/v1/budgets': {
        get: { summary: 'List budgets (admin)', responses: { '200': { description: 'Budgets' } } },
      },
      '/v1/budgets/{costCenter}': {
        get: {
          summary: 'A budget and its figures (admin)',
          responses: { '200': { description: 'The budget' } },
        },
        put: { summary: 'Set a budget (admin)', responses: { '200': { description: 'The budget' } } },
        delete: { summary: 'Delete a budget (admin)', responses: { '204': { description: 'Deleted' } } },
      },
      '/v1/usage': {
        get: { summary: 'Usage aggregates (admin)', responses: { '200': { description: 'Usage' } } },
      },
      '/v1/report': {
        get: { summary: 'Spend report (admin)', responses: { '200': { description: 'Report' } } },
      },
      '/v1/keys': {
        get: { summary: 'List API keys (admin)', responses: { '200': { description: 'Keys' } } },
        post: {
          summary: 'Create an API key (admin)',
          responses: { '201': { description: 'The key, shown once' } },
        },
      },
      '/v1/keys/{keyId}': {
        delete: { summary: 'Revoke an API key (admin)', responses: { '204': { description: 'Revoked' } } },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
    },
    components: { schemas: openApiSchemas(limits) },
  };
}

/** Where the document is served. */
export const OPENAPI_PATH = '/openapi.json';

/**
 * The document as a mapping template for a mock integration: Velocity's unparsed content, so
 * that `$ref` and `#/components` are printed as they are. The local gateway renders the same.
 */
export function openApiTemplate(limits: { maxMessages: number; maxContentChars: number }): string {
  const text = JSON.stringify(openApiDocument(limits));
  if (text.includes(']]#')) throw new Error('the OpenAPI document cannot sit in an unparsed block');
  return `#[[${text}]]#`;
}
