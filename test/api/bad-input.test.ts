import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
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
/** The valid body with this raw JSON text (escapes and all) as the message content. */
function rawContent(text: string): string {
  return JSON.stringify(valid()).replace('"Hello"', `"${text}"`);
}
/** The valid body with these raw bytes as (part of) the message content. */
function withContentBytes(bytes: number[]): Buffer {
  const [before = '', after = ''] = JSON.stringify(valid()).split('Hello');
  return Buffer.concat([Buffer.from(`${before}Hi `), Buffer.from(bytes), Buffer.from(after)]);
}
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
    'content as an array of strings',
    withPrompt({ messages: [{ role: 'user', content: ['Hi'] }] }),
    400,
    'INVALID_REQUEST',
  ],
  [
    'a block of no known kind',
    withPrompt({ messages: [{ role: 'user', content: [{ video: { format: 'mp4' } }] }] }),
    400,
    'INVALID_REQUEST',
  ],
  [
    'a binary document the sentry cannot bound',
    withPrompt({
      messages: [
        {
          role: 'user',
          content: [{ document: { format: 'pdf', name: 'report', source: { bytes: 'aGk=' } } }],
        },
      ],
    }),
    400,
    'INVALID_REQUEST',
  ],
  [
    'an image for a text-only model',
    {
      ...invokeBody({ model: 'nova-micro' }),
      prompt: {
        messages: [{ role: 'user', content: [{ image: { format: 'png', source: { bytes: 'aGk=' } } }] }],
      },
    },
    400,
    'INVALID_REQUEST',
  ],
  [
    'an image that is not base64',
    withPrompt({
      messages: [{ role: 'user', content: [{ image: { format: 'png', source: { bytes: 'not base64!' } } }] }],
    }),
    400,
    'INVALID_REQUEST',
  ],
  [
    'tools for a model without a published tool overhead',
    {
      ...invokeBody({ model: 'nova-lite' }),
      prompt: {
        messages: [{ role: 'user', content: 'Hi' }],
        tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object' } } } }],
      },
    },
    400,
    'INVALID_REQUEST',
  ],
  [
    'an empty text block',
    withPrompt({ messages: [{ role: 'user', content: [{ text: '   ' }] }] }),
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
  ['a lone high surrogate escape in content', rawContent('Hi \\ud800'), 400, 'INVALID_REQUEST'],
  ['a lone low surrogate escape in content', rawContent('\\udfff'), 400, 'INVALID_REQUEST'],
  ['surrogate escapes in the wrong order', rawContent('\\udc00\\ud800'), 400, 'INVALID_REQUEST'],
  [
    'a lone surrogate escape in the system prompt',
    JSON.stringify(withPrompt({ system: 'S' })).replace('"system":"S"', '"system":"\\ud800"'),
    400,
    'INVALID_REQUEST',
  ],
  [
    'a lone surrogate escape in a stop sequence',
    JSON.stringify(withParameters({ stop_sequences: ['S'] })).replace('["S"]', '["\\udbff"]'),
    400,
    'INVALID_REQUEST',
  ],
  [
    'a lone surrogate escape in the model',
    JSON.stringify(valid()).replace('"nova-lite"', '"nova-lite\\ud800"'),
    400,
    'INVALID_REQUEST',
  ],
];

describe('bad input over HTTP', () => {
  const cases = CASES.map(([name, body, status, code, init]) => [name, status, code, body, init] as const);
  it.each(cases)('%s gets %i %s', async (_name, status, code, body, init) => {
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

  it.each([
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
    ['an overlong NUL (C0 80)', [0xc0, 0x80]],
    ['a three-byte overlong "/" (E0 80 AF)', [0xe0, 0x80, 0xaf]],
    ['a CESU-8 surrogate half (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['a CESU-8 surrogate pair (ED A0 BD ED B8 80)', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
    ['a lone continuation byte (80)', [0x80]],
    ['a truncated sequence (E2 82)', [0xe2, 0x82]],
    ['a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
    ['a byte never used in UTF-8 (FF)', [0xff]],
  ])('refuses %s in the body with 400 INVALID_REQUEST', async (_name, bytes) => {
    const response = await fetch(`${stack.url}/v1/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: withContentBytes(bytes),
    });
    const json = (await response.json()) as { error: { code: string; message: string; requestId: string } };
    expect([response.status, json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(json.error.message).toBe('The request body is not valid UTF-8.');
    expect(json.error.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('refuses invalid UTF-8 on the admin routes too', async () => {
    const response = await fetch(`${stack.url}/v1/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat([
        Buffer.from('{"costCenters":["support"],"description":"'),
        Buffer.from([0xc0, 0xaf]),
        Buffer.from('"}'),
      ]),
    });
    const json = (await response.json()) as { error?: { code: string } };
    expect([response.status, json.error?.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('passes well-formed text outside the BMP through, escaped or not', async () => {
    const { status, json } = await post(stack, rawContent('\\ud83d\\ude00 \u{1F600}'));
    expect(status).toBe(200);
    expect(json.usage.inputTokens).toBe(Math.ceil(Buffer.byteLength('\u{1F600} \u{1F600}') / 4));
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

describe('error bodies never quote the client and stay small', () => {
  const SECRET = '4111111111111111';
  it.each([
    ['an unknown top-level key', { ...valid(), [SECRET]: 1 }],
    ['an unknown key inside the tags', withTags({ [SECRET]: 'x' })],
    [
      'an unknown key inside a message',
      withPrompt({ messages: [{ role: 'user', content: 'Hi', [SECRET]: 1 }] }),
    ],
    ['a duplicated key', JSON.stringify(valid()).replace('{', `{"${SECRET}":1,"${SECRET}":2,`)],
    [
      'a duplicated key inside the tags',
      JSON.stringify(valid()).replace('"tags":{', `"tags":{"${SECRET}":1,"${SECRET}":1,`),
    ],
    ['the secret as the role', withPrompt({ messages: [{ role: SECRET, content: 'Hi' }] })],
    ['the secret as a tag', withTags({ costCenter: `${SECRET}!` })],
  ])('%s is refused without the key or value in the body', async (_name, body) => {
    const response = await fetch(`${stack.url}/v1/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text).error.code).toBe('INVALID_REQUEST');
  });

  it.each([
    [
      '14,000 unknown keys',
      { ...valid(), ...Object.fromEntries(Array.from({ length: 14_000 }, (_, i) => [`k${i}`, 1])) },
    ],
    [
      '14,000 unknown keys with long names',
      {
        ...valid(),
        ...Object.fromEntries(Array.from({ length: 1_400 }, (_, i) => [`${'k'.repeat(120)}${i}`, 1])),
      },
    ],
    [
      '100 messages with three problems each',
      withPrompt({ messages: Array.from({ length: 100 }, () => ({ role: 'x', content: 1, extra: 1 })) }),
    ],
  ])('%s give a body under 8 KB with at most 20 details', async (_name, body) => {
    const response = await fetch(`${stack.url}/v1/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(Buffer.byteLength(text)).toBeLessThan(8 * 1024);
    expect(JSON.parse(text).error.details.length).toBeLessThanOrEqual(20);
  });
});

/** Send raw bytes over one connection and read the whole answer (the server closes it). */
function rawRequest(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(stack.gateway.port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

describe('malformed HTTP framing', () => {
  const body = JSON.stringify(valid());
  const request = (headers: string, payload = body) =>
    `POST /v1/invoke HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${headers}\r\n${payload}`;

  it.each([
    ['a Content-Length that is not a number', request('Content-Length: abc\r\n')],
    ['a negative Content-Length', request('Content-Length: -1\r\n')],
    ['two different Content-Lengths', request(`Content-Length: ${body.length}\r\nContent-Length: 5\r\n`)],
    [
      'Content-Length together with Transfer-Encoding',
      request(
        `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`,
        `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      ),
    ],
    ['a bad chunk size', request('Transfer-Encoding: chunked\r\n', 'zz\r\nabc\r\n0\r\n\r\n')],
    ['a CR inside a header value', request(`X-Note: a\rb\r\nContent-Length: ${body.length}\r\n`)],
    ['a space before the colon', request(`Content-Length : ${body.length}\r\n`)],
    ['a request line that is not HTTP', 'HELLO\r\n\r\n'],
  ])('%s gets a JSON 400 with an x-request-id, then the connection closes', async (_name, text) => {
    const answer = await rawRequest(text);
    const [head = '', payload = ''] = answer.split('\r\n\r\n');
    const [statusLine, ...lines] = head.split('\r\n');
    const headers = Object.fromEntries(
      lines.map((line) => [
        line.slice(0, line.indexOf(':')).toLowerCase(),
        line.slice(line.indexOf(':') + 1).trim(),
      ]),
    );
    expect(statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(headers['content-type']).toBe('application/json');
    expect(headers.connection).toBe('close');
    expect(Number(headers['content-length'])).toBe(Buffer.byteLength(payload));
    const json = JSON.parse(payload);
    expect(json.error.code).toBe('INVALID_REQUEST');
    expect(json.error.message).toBe('The request is not well-formed HTTP/1.1.');
    expect(json.error.requestId).toBe(headers['x-request-id']);
    expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
