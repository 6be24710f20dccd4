import { type BedrockRuntimeClient, ConverseCommand, type Message } from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import type { LocalStack } from '../../local/stack.ts';
import { counters } from '../helpers/local-runtime.ts';
import { localBedrock, putTestBudget, startTestStack } from '../helpers/local-stack.ts';

/**
 * The drop-in routes through clients nobody here wrote: the AWS SDK's own BedrockRuntimeClient
 * with its endpoint set to the local stack (it speaks HTTP/2), and the official `openai` package
 * with its base URL set to it. Every answer's cost adds up to the budget's spend, to the pico.
 */
let stack: LocalStack;
let bedrock: BedrockRuntimeClient;
let openai: OpenAI;
/** HTTP requests the openai client made (its own retries included). */
let openAiRequests = 0;

const COST_CENTER = 'dropin';
const tags = { costCenter: COST_CENTER, applicationId: 'chat-app', environment: 'dev' };
const PNG = 'iVBORw0KGgo=';

beforeAll(async () => {
  stack = await startTestStack();
  await putTestBudget(stack, COST_CENTER, usdToPico(10));
  await putTestBudget(stack, 'broke', 1n);
  bedrock = localBedrock(stack);
  openai = new OpenAI({
    apiKey: 'local',
    baseURL: `${stack.url}/v1`,
    fetch: (url, init) => {
      openAiRequests++;
      return fetch(url, init);
    },
  });
});
afterAll(async () => {
  bedrock?.destroy();
  await stack?.close();
});

/** The cost each successful answer reported, for the exact money check at the end. */
const reported: bigint[] = [];

describe('the AWS SDK ConverseCommand against POST /model/{modelId}/converse', () => {
  const converse = (modelId: string, messages: Message[], extra: Record<string, unknown> = {}) =>
    bedrock.send(
      new ConverseCommand({
        modelId,
        messages,
        inferenceConfig: { maxTokens: 64 },
        requestMetadata: tags,
        ...extra,
      }),
    );

  it('answers text with a system prompt, in Converse own shape', async () => {
    const answer = await bedrock.send(
      new ConverseCommand({
        modelId: 'nova-lite',
        system: [{ text: 'Be brief.' }],
        messages: [{ role: 'user', content: [{ text: 'Hello [[sim:output_tokens=5]]' }] }],
        inferenceConfig: { maxTokens: 64 },
        requestMetadata: tags,
      }),
    );
    expect(answer.output?.message?.content).toEqual([{ text: 'sim sim sim sim sim' }]);
    expect(answer.stopReason).toBe('end_turn');
    expect(answer.usage).toMatchObject({ outputTokens: 5 });
    expect(answer.$metadata.httpStatusCode).toBe(200);
  });

  it('carries a tool round trip', async () => {
    const toolConfig = {
      tools: [{ toolSpec: { name: 'lookup', inputSchema: { json: { type: 'object', properties: {} } } } }],
    };
    const first = await converse(
      'claude-haiku',
      [{ role: 'user', content: [{ text: 'Find it [[sim:tool_use=lookup]]' }] }],
      {
        toolConfig,
      },
    );
    expect(first.stopReason).toBe('tool_use');
    const toolUse = first.output?.message?.content?.[0]?.toolUse;
    expect(toolUse?.name).toBe('lookup');
    const second = await converse(
      'claude-haiku',
      [
        { role: 'user', content: [{ text: 'Find it' }] },
        { role: 'assistant', content: [{ toolUse: toolUse as never }] },
        {
          role: 'user',
          content: [{ toolResult: { toolUseId: toolUse?.toolUseId, content: [{ text: '42' }] } }],
        },
      ],
      { toolConfig },
    );
    expect(second.stopReason).toBe('end_turn');
  });

  it('takes an image', async () => {
    const answer = await converse('claude-haiku', [
      {
        role: 'user',
        content: [
          { text: 'What is this?' },
          { image: { format: 'png', source: { bytes: Buffer.from(PNG, 'base64') } } },
        ],
      },
    ]);
    // The simulator counts an image as 1,000 input tokens.
    expect(answer.usage?.inputTokens).toBeGreaterThanOrEqual(1000);
  });

  it.each([
    ['a retired model', 'claude-3-5-haiku', 'ValidationException', /use 'claude-haiku'/],
    ['an unknown model', 'gpt-4o', 'ValidationException', /not in the catalog/],
  ])('refuses %s with %s', async (_name, modelId, name, message) => {
    await expect(converse(modelId, [{ role: 'user', content: [{ text: 'Hi' }] }])).rejects.toMatchObject({
      name,
      message: expect.stringMatching(message),
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('refuses a spent budget with ServiceQuotaExceededException, which the SDK does not retry', async () => {
    const error = await bedrock
      .send(
        new ConverseCommand({
          modelId: 'nova-lite',
          messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
          requestMetadata: { ...tags, costCenter: 'broke' },
        }),
      )
      .catch(
        (e: unknown) => e as { name: string; $metadata: { attempts?: number; httpStatusCode?: number } },
      );
    expect(error).toMatchObject({
      name: 'ServiceQuotaExceededException',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
  });

  it('refuses a cost center with no budget with AccessDeniedException', async () => {
    await expect(
      bedrock.send(
        new ConverseCommand({
          modelId: 'nova-lite',
          messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
          requestMetadata: { ...tags, costCenter: 'nobody' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
  });

  it('names the Converse fields it does not support', async () => {
    await expect(
      converse('nova-lite', [{ role: 'user', content: [{ text: 'Hi' }] }], {
        guardrailConfig: { guardrailIdentifier: 'g', guardrailVersion: '1' },
      }),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('does not support'),
    });
  });

  it('passes a model error on under Bedrock own name', async () => {
    await expect(
      converse('nova-lite', [{ role: 'user', content: [{ text: 'Hi [[sim:error=ValidationException]]' }] }]),
    ).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
  });
});

describe('the openai package against POST /v1/chat/completions', () => {
  it('answers text with a system prompt, with usage and the cost_sentry extension', async () => {
    const completion = await openai.chat.completions.create({
      model: 'nova-lite',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello [[sim:output_tokens=3]]' },
      ],
      max_completion_tokens: 64,
      metadata: tags,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toBe('sim sim sim');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(3);
    const extension = (completion as unknown as { cost_sentry: { cost: { usd: number }; budget: unknown } })
      .cost_sentry;
    expect(extension.budget).toMatchObject({ costCenter: COST_CENTER });
    reported.push(usdToPico(extension.cost.usd));
  });

  it('carries a tool round trip', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: { name: 'lookup', parameters: { type: 'object', properties: {} } },
      },
    ];
    const first = await openai.chat.completions.create({
      model: 'claude-haiku',
      messages: [{ role: 'user', content: 'Find it [[sim:tool_use=lookup]]' }],
      tools,
      tool_choice: 'required',
      max_tokens: 64,
      metadata: tags,
    });
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(call).toMatchObject({ type: 'function', function: { name: 'lookup', arguments: '{}' } });
    const second = await openai.chat.completions.create({
      model: 'claude-haiku',
      messages: [
        { role: 'user', content: 'Find it' },
        { role: 'assistant', content: null, tool_calls: [call as never] },
        { role: 'tool', tool_call_id: call?.id ?? '', content: '42' },
      ],
      tools,
      max_tokens: 64,
      metadata: tags,
    });
    expect(second.choices[0]?.finish_reason).toBe('stop');
    for (const c of [first, second]) {
      reported.push(
        usdToPico((c as unknown as { cost_sentry: { cost: { usd: number } } }).cost_sentry.cost.usd),
      );
    }
  });

  it('takes an image as a data: URL, and refuses a remote one naming the parameter', async () => {
    const completion = await openai.chat.completions.create({
      model: 'claude-haiku',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
      ],
      max_tokens: 16,
      metadata: tags,
    });
    expect(completion.usage?.prompt_tokens).toBeGreaterThanOrEqual(1000);
    reported.push(
      usdToPico((completion as unknown as { cost_sentry: { cost: { usd: number } } }).cost_sentry.cost.usd),
    );

    await expect(
      openai.chat.completions.create({
        model: 'claude-haiku',
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
        ],
        metadata: tags,
      }),
    ).rejects.toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      param: 'messages[0].content[0].image_url.url',
    });
  });

  it.each([
    ['a retired model', { model: 'claude-2' }, 400, 'invalid_request_error'],
    ['an unknown model', { model: 'gpt-4o' }, 400, 'invalid_request_error'],
    ['n above 1', { model: 'nova-lite', n: 2 }, 400, 'invalid_request_error'],
    [
      'a cost center with no budget',
      { model: 'nova-lite', metadata: { ...tags, costCenter: 'nobody' } },
      403,
      'permission_error',
    ],
  ])('refuses %s: %j answers %i %s', async (_name, extra, status, type) => {
    await expect(
      openai.chat.completions.create({
        messages: [{ role: 'user', content: 'Hi' }],
        metadata: tags,
        ...extra,
      } as never),
    ).rejects.toMatchObject({ status, type });
  });

  it('refuses a spent budget as insufficient_quota, and the client does not retry it', async () => {
    const before = openAiRequests;
    await expect(
      openai.chat.completions.create({
        model: 'nova-lite',
        messages: [{ role: 'user', content: 'Hi' }],
        metadata: { ...tags, costCenter: 'broke' },
      }),
    ).rejects.toMatchObject({ status: 429, code: 'insufficient_quota', type: 'insufficient_quota' });
    expect(openAiRequests - before).toBe(1);
  });
});

describe('the money on every route', () => {
  it('adds up: the budget spent equals the sum of the costs the answers reported', async () => {
    // Converse answers carry their cost in a header the SDK does not surface: read it over HTTP.
    const response = await fetch(`${stack.url}/model/nova-lite/converse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
        requestMetadata: { ...tags, costCenter: 'money' },
      }),
    });
    expect(response.status).toBe(403); // no budget yet: nothing charged
    await stack.runtime.store.putBudget({
      costCenter: 'money',
      period: 'monthly',
      limitPico: usdToPico(1),
      alertThresholds: [],
    });
    const costs: bigint[] = [];
    for (const path of ['/model/nova-lite/converse', '/v1/chat/completions', '/v1/invoke']) {
      const body =
        path === '/v1/invoke'
          ? {
              model: 'nova-lite',
              prompt: { messages: [{ role: 'user', content: 'Hi' }] },
              tags: { ...tags, costCenter: 'money' },
            }
          : path === '/v1/chat/completions'
            ? {
                model: 'nova-lite',
                messages: [{ role: 'user', content: 'Hi' }],
                metadata: { ...tags, costCenter: 'money' },
              }
            : {
                messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
                requestMetadata: { ...tags, costCenter: 'money' },
              };
      const answer = await fetch(`${stack.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(answer.status).toBe(200);
      const json = (await answer.json()) as Record<string, any>;
      const usd =
        path === '/model/nova-lite/converse'
          ? Number(answer.headers.get('x-cost-sentry-cost-usd'))
          : path === '/v1/chat/completions'
            ? json.cost_sentry.cost.usd
            : json.cost.usd;
      costs.push(usdToPico(usd));
    }
    const spent = (await counters(stack.runtime, 'money')).spentPico;
    expect(spent).toBe(costs.reduce((a, b) => a + b, 0n));
    expect(spent).toBeGreaterThan(0n);
    expect(reported.length).toBeGreaterThan(0);
  });
});

describe('bad input on the drop-in routes', () => {
  const SECRET = '4111111111111111';
  const converseTags = { requestMetadata: tags };
  const cases: Array<[string, string, string]> = [
    ['malformed JSON', '/model/nova-lite/converse', '{"messages":'],
    ['malformed JSON', '/v1/chat/completions', '{"model":'],
    [
      'a secret-looking unknown key',
      '/model/nova-lite/converse',
      JSON.stringify({
        messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
        [SECRET]: 1,
        ...converseTags,
      }),
    ],
    [
      'a secret-looking unknown key',
      '/v1/chat/completions',
      JSON.stringify({
        model: 'nova-lite',
        messages: [{ role: 'user', content: 'Hi' }],
        [SECRET]: 1,
        metadata: tags,
      }),
    ],
    [
      'a duplicated key',
      '/v1/chat/completions',
      `{"model":"nova-lite","model":"claude-opus","messages":[{"role":"user","content":"Hi"}]}`,
    ],
    [
      'a lone surrogate',
      '/model/nova-lite/converse',
      `{"messages":[{"role":"user","content":[{"text":"\\ud800"}]}],"requestMetadata":${JSON.stringify(tags)}}`,
    ],
    [
      'roles that do not alternate',
      '/model/nova-lite/converse',
      JSON.stringify({
        messages: [
          { role: 'assistant', content: [{ text: 'Hi' }] },
          { role: 'user', content: [{ text: 'Hi' }] },
        ],
        ...converseTags,
      }),
    ],
    [
      'missing tags',
      '/v1/chat/completions',
      JSON.stringify({ model: 'nova-lite', messages: [{ role: 'user', content: 'Hi' }] }),
    ],
  ];

  it.each(cases)(
    '%s on %s: 400 in the route own shape, nothing charged, nothing echoed',
    async (_name, path, body) => {
      const spent = (await counters(stack.runtime, COST_CENTER)).spentPico;
      const calls = stack.runtime.simulator?.stats.calls ?? 0;
      const response = await fetch(`${stack.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const text = await response.text();
      expect(response.status).toBe(400);
      expect(response.headers.get('x-request-id')).toBeTruthy();
      if (path.startsWith('/model/')) {
        expect(response.headers.get('x-amzn-errortype')).toBe('ValidationException');
        expect(JSON.parse(text)).toMatchObject({ message: expect.any(String) });
      } else {
        expect(JSON.parse(text)).toMatchObject({
          error: { type: 'invalid_request_error', message: expect.any(String) },
        });
      }
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('claude-opus');
      expect((await counters(stack.runtime, COST_CENTER)).spentPico).toBe(spent);
      expect(stack.runtime.simulator?.stats.calls ?? 0).toBe(calls);
    },
  );
});

describe('the limits on the OpenAI route', () => {
  it.each([
    [
      'more messages than limits.maxMessages',
      Array.from({ length: 101 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'Hi' })),
    ],
    [
      'a system prompt over limits.maxContentChars',
      [
        { role: 'system', content: 'x'.repeat(100_001) },
        { role: 'user', content: 'Hi' },
      ],
    ],
    ['only a system message', [{ role: 'system', content: 'Be brief.' }]],
  ])('refuses %s with 400, nothing charged', async (_name, messages) => {
    const calls = stack.runtime.simulator?.stats.calls ?? 0;
    const response = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'nova-lite', messages, metadata: tags }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    expect(stack.runtime.simulator?.stats.calls ?? 0).toBe(calls);
  });
});
