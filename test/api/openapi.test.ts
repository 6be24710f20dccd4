import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import type { LocalStack } from '../../local/stack.ts';
import { post, startTestStack } from '../helpers/local-stack.ts';

/** GET /openapi.json, and real answers of every workflow route checked against it. */
let stack: LocalStack;
let document: Record<string, any>;
const tags = { costCenter: 'openapi', applicationId: 'docs', environment: 'dev' };

beforeAll(async () => {
  stack = await startTestStack();
  await stack.runtime.store.putBudget({
    costCenter: 'openapi',
    period: 'monthly',
    limitPico: usdToPico(1),
    alertThresholds: [],
  });
  const response = await fetch(`${stack.url}/openapi.json`);
  expect(response.status).toBe(200);
  document = (await response.json()) as Record<string, any>;
});
afterAll(() => stack?.close());

/** A validator of one component schema of the served document. */
function validator(name: string) {
  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema({ $id: 'https://cost-sentry.local/doc', components: document.components });
  return ajv.compile({ $ref: `https://cost-sentry.local/doc#/components/schemas/${name}` });
}

const check = (name: string, body: unknown) => {
  const validate = validator(name);
  expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
};

describe('GET /openapi.json', () => {
  it('is OpenAPI 3.1 and names every route', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/v1/invoke',
        '/model/{modelId}/converse',
        '/v1/chat/completions',
        '/v1/budgets',
        '/openapi.json',
      ]),
    );
  });

  it.each([
    [
      '/v1/invoke',
      { model: 'nova-lite', prompt: { messages: [{ role: 'user', content: 'Hi' }] }, tags },
      'InvokeRequest',
      'InvokeResponse',
    ],
    [
      '/model/nova-lite/converse',
      { messages: [{ role: 'user', content: [{ text: 'Hi' }] }], requestMetadata: tags },
      'ConverseRequest',
      'ConverseResponse',
    ],
    [
      '/v1/chat/completions',
      { model: 'nova-lite', messages: [{ role: 'user', content: 'Hi' }], metadata: tags },
      'ChatCompletionRequest',
      'ChatCompletion',
    ],
  ])('describes %s: the request sent and the real answer', async (path, body, request, answer) => {
    check(request, body);
    const { status, json } = await post(stack, body, { path });
    expect(status).toBe(200);
    check(answer, json);
  });

  it.each([
    [
      '/v1/invoke',
      { model: 'gpt-4', prompt: { messages: [{ role: 'user', content: 'Hi' }] }, tags },
      'Error',
    ],
    [
      '/model/gpt-4/converse',
      { messages: [{ role: 'user', content: [{ text: 'Hi' }] }], requestMetadata: tags },
      'BedrockError',
    ],
    [
      '/v1/chat/completions',
      { model: 'gpt-4', messages: [{ role: 'user', content: 'Hi' }], metadata: tags },
      'OpenAiError',
    ],
  ])('describes the errors of %s as they really come', async (path, body, schema) => {
    const { status, json } = await post(stack, body, { path });
    expect(status).toBe(400);
    check(schema, json);
  });
});
