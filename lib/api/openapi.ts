import { openApiSchemas } from './openapi-schemas.ts';

/**
 * GET /openapi.json: an OpenAPI 3.1 document of every route. The request bodies are the very zod
 * schemas ValidateRequest and the admin API parse with; the answers are written here, and a test
 * checks real answers of the local stack against them.
 */

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
