import { describe, expect, it } from 'vitest';
import { contentTokenBound, UnboundableContentError } from '../../lambdas/shared/rules/content.ts';
import {
  converseBodySchema,
  converseError,
  fromConverse,
  unsupportedConverseFields,
} from '../../lambdas/shared/rules/wire/converse.ts';
import { fromOpenAi, type UnsupportedParameterError } from '../../lambdas/shared/rules/wire/openai.ts';
import { finishReasonOf, openAiError, toOpenAi } from '../../lambdas/shared/rules/wire/openai-answer.ts';
import { chatRequestSchema } from '../../lambdas/shared/rules/wire/openai-schema.ts';

const PNG = 'iVBORw0KGgo=';

describe('the Converse wire', () => {
  it('builds its body schema once per limit: a zod schema costs far more to build than to use', () => {
    expect(converseBodySchema(100)).toBe(converseBodySchema(100));
    expect(converseBodySchema(100)).not.toBe(converseBodySchema(3));
    expect(() =>
      converseBodySchema(3).parse({ messages: Array(4).fill({ role: 'user', content: [{ text: 'x' }] }) }),
    ).toThrow(/at most 3/);
  });

  it('takes the tags out of requestMetadata and passes the rest on', () => {
    const body = converseBodySchema(100).parse({
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      system: [{ text: 'Be brief.' }],
      inferenceConfig: { maxTokens: 64, temperature: 0.2 },
      additionalModelRequestFields: { top_k: 5 },
      requestMetadata: { costCenter: 'support', applicationId: 'docs', environment: 'dev', ticket: 'T-1' },
    });
    expect(fromConverse('nova-lite', body)).toEqual({
      model: 'nova-lite',
      system: [{ text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      parameters: { maxTokens: 64, temperature: 0.2, topP: undefined, topK: 5, stopSequences: undefined },
      tags: { costCenter: 'support', applicationId: 'docs', environment: 'dev' },
      metadata: { ticket: 'T-1' },
    });
  });

  it('names the Converse fields the sentry does not take, and why', () => {
    expect(unsupportedConverseFields({ messages: [], guardrailConfig: {}, serviceTier: {} })).toEqual([
      { path: 'guardrailConfig', message: expect.stringContaining('guardrails') },
      { path: 'serviceTier', message: expect.stringContaining('priced apart') },
    ]);
  });

  it.each([
    ['INVALID_REQUEST', {}, 400, 'ValidationException'],
    ['MODEL_RETIRED', {}, 400, 'ValidationException'],
    ['FORBIDDEN', {}, 403, 'AccessDeniedException'],
    ['UNKNOWN_COST_CENTER', {}, 403, 'AccessDeniedException'],
    ['BUDGET_EXCEEDED', { reason: 'spent' }, 400, 'ServiceQuotaExceededException'],
    ['BUDGET_EXCEEDED', {}, 400, 'ServiceQuotaExceededException'],
    ['BUDGET_EXCEEDED', { reason: 'held', retryAfterSeconds: 2 }, 429, 'ThrottlingException'],
    ['RATE_LIMITED', { retryAfterSeconds: 30 }, 429, 'ThrottlingException'],
    ['MODEL_ERROR', { upstream: 'ValidationException' }, 400, 'ValidationException'],
    ['MODEL_ERROR', { upstream: 'ResourceNotFoundException' }, 404, 'ResourceNotFoundException'],
    ['MODEL_ERROR', {}, 502, 'ModelErrorException'],
    ['MODEL_TIMEOUT', {}, 408, 'ModelTimeoutException'],
    ['INTERNAL_ERROR', {}, 500, 'InternalServerException'],
  ] as const)('answers %s %j as %i %s', (code, extra, status, type) => {
    const error = converseError(code, { message: 'm', ...extra }, 'r-1');
    expect([error.status, error.headers['x-amzn-ErrorType']]).toEqual([status, type]);
    expect(error.body).toMatchObject({ message: 'm' });
  });
});

describe('the OpenAI wire', () => {
  const parse = (body: Record<string, unknown>) =>
    fromOpenAi(chatRequestSchema().parse({ model: 'nova-lite', ...body }));

  it('maps system, developer, user parts, tool calls and tool results to Converse, merging turns', () => {
    const request = parse({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Use tools.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '42' },
        { role: 'user', content: 'And?' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      tool_choice: 'required',
      max_completion_tokens: 50,
      max_tokens: 10,
      stop: 'END',
      metadata: { costCenter: 'support', applicationId: 'docs', environment: 'dev', trace: 'x' },
      n: 1,
      stream: false,
      presence_penalty: 0,
    });
    expect(request.system).toEqual([{ text: 'Be brief.' }, { text: 'Use tools.' }]);
    expect(request.messages).toEqual([
      {
        role: 'user',
        content: [{ text: 'What is this?' }, { image: { format: 'png', source: { bytes: PNG } } }],
      },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 'call_1', name: 'lookup', input: { q: 1 } } }] },
      {
        role: 'user',
        content: [{ toolResult: { toolUseId: 'call_1', content: [{ text: '42' }] } }, { text: 'And?' }],
      },
    ]);
    expect(request.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'lookup', inputSchema: { json: { type: 'object' } } } }],
      toolChoice: { any: {} },
    });
    expect(request.parameters).toMatchObject({ maxTokens: 50, stopSequences: ['END'] });
    expect(request.tags).toEqual({ costCenter: 'support', applicationId: 'docs', environment: 'dev' });
    expect(request.metadata).toEqual({ trace: 'x' });
  });

  it.each([
    ['n', { n: 2 }],
    ['stream', { stream: true }],
    ['logprobs', { logprobs: true }],
    ['response_format', { response_format: { type: 'json_object' } }],
    ['presence_penalty', { presence_penalty: 0.5 }],
    ['seed', { seed: 7 }],
    ['parallel_tool_calls', { parallel_tool_calls: false }],
    [
      'messages[0].content[0].image_url.url',
      {
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
        ],
      },
    ],
  ])('refuses %s, naming it', (param, extra) => {
    const body = { messages: [{ role: 'user', content: 'Hi' }], ...extra };
    expect(() => parse(body)).toThrow(expect.objectContaining({ param }) as UnsupportedParameterError);
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['guardrail_intervened', 'content_filter'],
  ])('finishes %s as %s', (stop, finish) => {
    expect(finishReasonOf(stop)).toBe(finish);
  });

  it('answers in OpenAI shape, prompt tokens counting the cached ones', () => {
    const answer = toOpenAi(
      {
        requestId: 'r-1',
        created: 1,
        model: 'nova-lite',
        content: [{ toolUse: { toolUseId: 't1', name: 'lookup', input: { q: 1 } } }],
        stopReason: 'tool_use',
        usage: {
          inputTokens: 10,
          outputTokens: 5,
          totalTokens: 19,
          cacheReadInputTokens: 4,
          cacheWriteInputTokens: 0,
        },
      },
      { requestId: 'r-1' },
    );
    expect(answer.choices[0]).toMatchObject({
      message: {
        content: null,
        tool_calls: [{ id: 't1', function: { name: 'lookup', arguments: '{"q":1}' } }],
      },
      finish_reason: 'tool_calls',
    });
    expect(answer.usage).toEqual({
      prompt_tokens: 14,
      completion_tokens: 5,
      total_tokens: 19,
      prompt_tokens_details: { cached_tokens: 4 },
    });
  });

  it('answers a spent budget as insufficient_quota that the client must not retry, a held one as a rate limit', () => {
    const spent = openAiError(
      'BUDGET_EXCEEDED',
      { message: 'm', reason: 'spent', retryAfterSeconds: 999 },
      'r',
    );
    expect([spent.status, spent.headers]).toEqual([429, { 'x-should-retry': 'false' }]);
    expect(spent.body).toMatchObject({ error: { type: 'insufficient_quota', code: 'insufficient_quota' } });
    const held = openAiError('BUDGET_EXCEEDED', { message: 'm', reason: 'held', retryAfterSeconds: 2 }, 'r');
    expect([held.status, held.headers]).toEqual([429, { 'retry-after': '2', 'retry-after-ms': '2000' }]);
    expect(
      openAiError('INVALID_REQUEST', { message: 'm', details: [{ path: 'n', message: 'x' }] }, 'r').body,
    ).toMatchObject({ error: { type: 'invalid_request_error', param: 'n' } });
  });
});

describe('the worst case of every kind of content', () => {
  const limits = { imageTokenBound: 1700, toolOverheadTokens: 346 };
  it('bounds text by bytes, an image by the model bound, tools by their specs and overhead', () => {
    const base = contentTokenBound({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }, limits);
    const image = contentTokenBound(
      {
        messages: [
          { role: 'user', content: [{ text: 'Hi' }, { image: { format: 'png', source: { bytes: PNG } } }] },
        ],
      },
      limits,
    );
    expect(image - base).toBeGreaterThanOrEqual(1700);
    const toolConfig = { tools: [{ toolSpec: { name: 'f', inputSchema: { json: {} } } }] };
    const tools = contentTokenBound(
      { messages: [{ role: 'user', content: [{ text: 'Hi' }] }], toolConfig },
      limits,
    );
    expect(tools - base).toBe(346 + JSON.stringify(toolConfig).length);
  });

  it('refuses an image for a model that takes none, and tools for a model without a tool overhead', () => {
    const image = {
      messages: [
        { role: 'user' as const, content: [{ image: { format: 'png' as const, source: { bytes: PNG } } }] },
      ],
    };
    expect(() => contentTokenBound(image, {})).toThrow(UnboundableContentError);
    const tools = {
      messages: [{ role: 'user' as const, content: [{ text: 'Hi' }] }],
      toolConfig: { tools: [{ toolSpec: { name: 'f', inputSchema: { json: {} } } }] },
    };
    expect(() => contentTokenBound(tools, { imageTokenBound: 1 })).toThrow(/does not take tools/);
  });
});

describe('the text bound against tokenizers that normalise', () => {
  it('counts a text at its size after NFKC normalisation when that is larger (U+FDFA becomes 18 characters)', () => {
    const ligatures = '\uFDFA'.repeat(1_000);
    const plain = contentTokenBound({ messages: [{ role: 'user', content: [{ text: 'x' }] }] }, {});
    const bound = contentTokenBound({ messages: [{ role: 'user', content: [{ text: ligatures }] }] }, {});
    expect(bound - plain).toBeGreaterThanOrEqual(Buffer.byteLength(ligatures.normalize('NFKC')) - 1);
    expect(Buffer.byteLength(ligatures.normalize('NFKC'))).toBeGreaterThan(Buffer.byteLength(ligatures) * 5);
  });

  it('counts tool JSON as a serializer that escapes non-ASCII would write it', () => {
    const toolUse = (input: unknown) =>
      contentTokenBound(
        {
          messages: [
            {
              role: 'assistant',
              content: [{ toolUse: { toolUseId: 't', name: 'f', input: input as never } }],
            },
          ],
        },
        {},
      );
    expect(toolUse({ q: 'é'.repeat(100) }) - toolUse({ q: '' })).toBeGreaterThanOrEqual(600);
  });
});

describe('error paths never quote a key the client chose', () => {
  it.each([
    [
      'a tool JSON key',
      { toolUse: { toolUseId: 't', name: 'f', input: { card_4111111111111111: '\ud800' } } },
    ],
    [
      'a tool result JSON key',
      { toolResult: { toolUseId: 't', content: [{ json: { card_4111111111111111: '\ud800' } }] } },
    ],
  ])('%s', async (_name, block) => {
    const { parseJsonBody } = await import('../../lambdas/shared/rules/json-body.ts');
    const { contentBlockSchema } = await import('../../lambdas/shared/rules/content.ts');
    const { z } = await import('zod');
    const body = JSON.stringify({ content: [block] }).replace('\\\\ud800', '\\ud800');
    let error: unknown;
    try {
      parseJsonBody(body, z.object({ content: z.array(contentBlockSchema) }).strict(), 'The request');
    } catch (e) {
      error = e;
    }
    expect(JSON.stringify((error as { fields: unknown }).fields)).not.toContain('4111111111111111');
  });
});

describe('OpenAI inputs Bedrock would refuse are refused first', () => {
  it.each([
    [
      'a tool call named with a space',
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'look up', arguments: '{}' } }],
      },
    ],
    [
      'a metadata value over 256 characters',
      { role: 'user', content: 'Hi' },
      { metadata: { note: 'x'.repeat(257) } },
    ],
  ] as Array<[string, Record<string, unknown>, Record<string, unknown>?]>)(
    '%s',
    (_name, message, extra = {}) => {
      const body = { model: 'nova-lite', messages: [{ role: 'user', content: 'Hi' }, message], ...extra };
      expect(chatRequestSchema().safeParse(body).success).toBe(false);
    },
  );

  it('answers param null, not an empty string, for an error about the whole body', () => {
    expect(
      openAiError('INVALID_REQUEST', { message: 'm', details: [{ path: '', message: 'x' }] }, 'r').body,
    ).toMatchObject({
      error: { param: null },
    });
  });
});
