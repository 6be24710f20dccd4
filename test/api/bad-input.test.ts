import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/money.ts';
import type { LocalStack } from '../../local/stack.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { counters } from '../helpers/local-runtime.ts';
import { post, startTestStack } from '../helpers/local-stack.ts';

/**
 * Bad input through real HTTP: every case gets a clear 4xx with the right code, never a 5xx, and
 * nothing is charged or sent to Bedrock.
 */
let stack: LocalStack;
let before: { spent: bigint; reserved: bigint; calls: number };

beforeAll(async () => {
  stack = await startTestStack();
  // Fits any single small request, but not a worst case at the 4096-token cap.
  await stack.runtime.store.putBudget({
    costCenter: 'small',
    period: 'monthly',
    limitPico: usdToPico('0.0005'),
    alertThresholds: [],
  });
  const support = await counters(stack.runtime, 'support');
  before = {
    spent: support.spentPico,
    reserved: support.reservedPico,
    calls: stack.runtime.simulator?.stats.calls ?? 0,
  };
});
afterAll(() => stack?.close());

const valid = () => invokeBody({ content: 'Hello' });
const withPrompt = (prompt: Record<string, unknown>) => ({
  ...valid(),
  prompt: { ...(valid().prompt as object), ...prompt },
});
const withTags = (tags: Record<string, unknown>) => ({
  ...valid(),
  tags: { ...(valid().tags as object), ...tags },
});
const withParameters = (parameters: Record<string, unknown>) => withPrompt({ parameters });
const sized = (chars: number) => {
  const body = JSON.stringify(invokeBody({ content: 'x', maxTokens: 1 }));
  return body.replace('"content":"x"', `"content":"${'x'.repeat(chars - body.length + 1)}"`);
};

type Case = [
  name: string,
  body: unknown,
  status: number,
  code: string,
  init?: { headers?: Record<string, string>; method?: string },
];

const CASES: Case[] = [
  ['a malformed body', '{"model": "nova-lite",', 400, 'INVALID_REQUEST'],
  ['an empty body', '', 400, 'INVALID_REQUEST'],
  ['a body of whitespace', '   \n ', 400, 'INVALID_REQUEST'],
  ['null', 'null', 400, 'INVALID_REQUEST'],
  ['a JSON array', '[1,2]', 400, 'INVALID_REQUEST'],
  ['a JSON string', '"hello"', 400, 'INVALID_REQUEST'],
  [
    'text/plain',
    JSON.stringify(invokeBody()),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    { headers: { 'content-type': 'text/plain' } },
  ],
  [
    'form data',
    'model=nova-lite',
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    { headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  ],
  ['GET', undefined, 405, 'METHOD_NOT_ALLOWED', { method: 'GET' }],
  ['PUT', JSON.stringify(invokeBody()), 405, 'METHOD_NOT_ALLOWED', { method: 'PUT' }],
  ['DELETE', undefined, 405, 'METHOD_NOT_ALLOWED', { method: 'DELETE' }],
  ['a body one character over the limit', sized(204_801), 413, 'PAYLOAD_TOO_LARGE'],
  ['a body of 1 MB', sized(1_000_000), 413, 'PAYLOAD_TOO_LARGE'],
  ['@@ in an unknown model name', { ...valid(), model: '@@' }, 400, 'UNKNOWN_MODEL'],
  ['JSON-looking text as the model', { ...valid(), model: '{"model":"nova-lite"}' }, 400, 'UNKNOWN_MODEL'],
  [
    'a duplicate key',
    '{"model":"nova-lite","model":"claude-opus","prompt":{"messages":[{"role":"user","content":"Hi"}]},"tags":{"applicationId":"a","costCenter":"support","environment":"dev"}}',
    400,
    'INVALID_REQUEST',
  ],
  [
    'a duplicated cost center tag',
    '{"model":"nova-lite","prompt":{"messages":[{"role":"user","content":"Hi"}]},"tags":{"applicationId":"a","costCenter":"support","costCenter":"sales","environment":"dev"}}',
    400,
    'INVALID_REQUEST',
  ],
  ['nesting 40 levels deep', `{"model":${'['.repeat(40)}${']'.repeat(40)}}`, 400, 'INVALID_REQUEST'],
  ['a tag with Unicode', withTags({ applicationId: 'appé' }), 400, 'INVALID_REQUEST'],
  ['a tag with a control character', withTags({ costCenter: 'sup\u0000port' }), 400, 'INVALID_REQUEST'],
  ['a tag with a newline', withTags({ environment: 'dev\n' }), 400, 'INVALID_REQUEST'],
  ['a 65-character tag', withTags({ applicationId: 'a'.repeat(65) }), 400, 'INVALID_REQUEST'],
  ['an empty tag', withTags({ applicationId: '' }), 400, 'INVALID_REQUEST'],
  ['a tag that is a number', withTags({ costCenter: 42 }), 400, 'INVALID_REQUEST'],
  [
    'tags from headers only',
    { model: 'nova-lite', prompt: valid().prompt },
    400,
    'INVALID_REQUEST',
    { headers: { 'x-cost-center': 'support' } },
  ],
  ['an unknown environment', withTags({ environment: 'prod' }), 400, 'INVALID_REQUEST'],
  [
    'max_tokens missing on a budget that cannot hold the cap',
    { ...invokeBody({ costCenter: 'small', model: 'claude-opus' }) },
    429,
    'BUDGET_EXCEEDED',
  ],
  ['max_tokens zero', withParameters({ max_tokens: 0 }), 400, 'INVALID_REQUEST'],
  ['max_tokens negative', withParameters({ max_tokens: -1 }), 400, 'INVALID_REQUEST'],
  ['max_tokens fractional', withParameters({ max_tokens: 10.5 }), 400, 'INVALID_REQUEST'],
  ['max_tokens as a string', withParameters({ max_tokens: '100' }), 400, 'INVALID_REQUEST'],
  ['max_tokens above the cap', withParameters({ max_tokens: 4097 }), 400, 'INVALID_REQUEST'],
  ['temperature above 1', withParameters({ temperature: 1.5 }), 400, 'INVALID_REQUEST'],
  ['an unknown parameter', withParameters({ frequency_penalty: 1 }), 400, 'INVALID_REQUEST'],
  ['an unknown model', { ...valid(), model: 'gpt-4o' }, 400, 'UNKNOWN_MODEL'],
  ['a look-alike model name', { ...valid(), model: 'nova-lite2' }, 400, 'UNKNOWN_MODEL'],
  ['a model name in capitals', { ...valid(), model: 'NOVA-LITE' }, 400, 'UNKNOWN_MODEL'],
  [
    'a raw model ID not in the catalog',
    { ...valid(), model: 'amazon.titan-text-express-v1' },
    400,
    'UNKNOWN_MODEL',
  ],
  [
    'a raw model ARN not in the catalog',
    { ...valid(), model: 'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0' },
    400,
    'UNKNOWN_MODEL',
  ],
  ['a prototype key as the model', { ...valid(), model: '__proto__' }, 400, 'UNKNOWN_MODEL'],
  [
    'roles out of order',
    withPrompt({
      messages: [
        { role: 'assistant', content: 'Hi' },
        { role: 'user', content: 'Hello' },
      ],
    }),
    400,
    'INVALID_REQUEST',
  ],
  [
    'two user turns in a row',
    withPrompt({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'user', content: 'Hello' },
      ],
    }),
    400,
    'INVALID_REQUEST',
  ],
  ['an unknown role', withPrompt({ messages: [{ role: 'system', content: 'Hi' }] }), 400, 'INVALID_REQUEST'],
  ['no messages', withPrompt({ messages: [] }), 400, 'INVALID_REQUEST'],
  [
    '101 messages',
    withPrompt({
      messages: Array.from({ length: 101 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'x' })),
    }),
    400,
    'INVALID_REQUEST',
  ],
  [
    'content as an array',
    withPrompt({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }),
    400,
    'INVALID_REQUEST',
  ],
  [
    'content over 100,000 characters',
    withPrompt({ messages: [{ role: 'user', content: 'x'.repeat(100_001) }] }),
    400,
    'INVALID_REQUEST',
  ],
  ['a blank system prompt', withPrompt({ system: ' ' }), 400, 'INVALID_REQUEST'],
  ['an unknown top-level field', { ...valid(), stream: true }, 400, 'INVALID_REQUEST'],
  ['an unknown cost center', withTags({ costCenter: 'marketing' }), 403, 'UNKNOWN_COST_CENTER'],
];

describe('bad input over HTTP', () => {
  it.each(CASES)('%s gets %i %s', async (_name, body, status, code, init) => {
    const response = await post(stack, body ?? '', init);
    expect(response.status).toBe(status);
    expect(response.json.error.code).toBe(code);
    expect(response.json.error.requestId).toBe(response.headers.get('x-request-id'));
    expect(response.json.error.message.length).toBeGreaterThan(0);
    expect(JSON.stringify(response.json)).not.toMatch(/arn:aws|at .+\.ts:\d+|Error:/);
  });

  it('charged nothing and sent nothing to Bedrock', async () => {
    const support = await counters(stack.runtime, 'support');
    const small = await counters(stack.runtime, 'small');
    expect([support.spentPico, support.reservedPico]).toEqual([before.spent, before.reserved]);
    expect([small.spentPico, small.reservedPico]).toEqual([0n, 0n]);
    expect(stack.runtime.simulator?.stats.calls).toBe(before.calls);
  });

  it('passes @@ and JSON-looking text inside a valid prompt through untouched', async () => {
    const content = '@@ {"model":"claude-opus","tags":{"costCenter":"sales"}} @@';
    const { status, json } = await post(stack, invokeBody({ content }));
    expect(status).toBe(200);
    expect(json.model.alias).toBe('nova-lite');
    expect(json.tags.costCenter).toBe('support');
    expect(json.usage.inputTokens).toBe(Math.ceil(Buffer.byteLength(content) / 4));
  });
});
