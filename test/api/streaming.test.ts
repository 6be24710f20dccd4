import {
  type BedrockRuntimeClient,
  ConverseStreamCommand,
  type ConverseStreamCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priceOf, priceVersionAt } from '../../lambdas/shared/rules/catalog.ts';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import { type Usage, usageCost } from '../../lambdas/shared/rules/pricing.ts';
import { simulatedInputTokens } from '../../local/simulator-rules.ts';
import type { LocalStack } from '../../local/stack.ts';
import { exampleCatalog } from '../helpers/fixtures.ts';
import { counters } from '../helpers/local-runtime.ts';
import { localBedrock, putTestBudget, startTestStack } from '../helpers/local-stack.ts';

/**
 * The streaming routes through clients nobody here wrote: the AWS SDK's ConverseStreamCommand
 * (HTTP/2, the eventstream) and the `openai` package with `stream: true` (HTTP/1.1, SSE). Every
 * charge adds up to the budget's spend, to the pico, whatever way the stream ended.
 */
let stack: LocalStack;
let bedrock: BedrockRuntimeClient;
let openai: OpenAI;

const COST_CENTER = 'streaming';
const tags = { costCenter: COST_CENTER, applicationId: 'chat-app', environment: 'dev' };
const NOVA_LITE = 'amazon.nova-lite-v1:0';

/** What each request was charged, for the exact money check at the end. */
const charged: bigint[] = [];

const costOf = (usage: Usage) =>
  usageCost(usage, priceOf(exampleCatalog(), priceVersionAt(exampleCatalog(), new Date()), NOVA_LITE));

const spent = async () => (await counters(stack.runtime, COST_CENTER)).spentPico;

/** Wait until the cost center holds nothing in flight (a drained stream settles after its client left). */
async function settled(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await counters(stack.runtime, COST_CENTER)).reservedPico === 0n) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('a reservation stayed held');
}

beforeAll(async () => {
  stack = await startTestStack();
  await putTestBudget(stack, COST_CENTER, usdToPico(10));
  await putTestBudget(stack, 'broke', 1n);
  bedrock = localBedrock(stack);
  openai = new OpenAI({ apiKey: 'local', baseURL: `${stack.url}/v1` });
});
afterAll(async () => {
  bedrock?.destroy();
  await stack?.close();
});

const converseStream = (text: string, requestMetadata: Record<string, string> = tags) =>
  bedrock.send(
    new ConverseStreamCommand({
      modelId: 'nova-lite',
      messages: [{ role: 'user', content: [{ text }] }],
      inferenceConfig: { maxTokens: 64 },
      requestMetadata,
    }),
  );

async function drain(output: ConverseStreamCommandOutput) {
  const deltas: string[] = [];
  let usage: Usage | undefined;
  let stopReason: string | undefined;
  for await (const event of output.stream ?? []) {
    if (event.contentBlockDelta?.delta?.text !== undefined) deltas.push(event.contentBlockDelta.delta.text);
    if (event.messageStop) stopReason = event.messageStop.stopReason;
    if (event.metadata?.usage) usage = event.metadata.usage as Usage;
  }
  return { deltas, usage, stopReason };
}

describe('the AWS SDK ConverseStreamCommand against POST /model/{modelId}/converse-stream', () => {
  it('streams deltas that join to the text, and the usage it reports is what was charged', async () => {
    const before = await spent();
    const { deltas, usage, stopReason } = await drain(await converseStream('Hello [[sim:output_tokens=5]]'));
    expect(deltas.length).toBe(5);
    expect(deltas.join('')).toBe('sim sim sim sim sim');
    expect(stopReason).toBe('end_turn');
    expect(usage?.outputTokens).toBe(5);
    const charge = (await spent()) - before;
    expect(charge).toBe(costOf(usage as Usage));
    charged.push(charge);
  });

  it('fails mid-stream with an exception the SDK throws, and charges the whole reservation: Bedrock had begun to answer', async () => {
    const before = await spent();
    const output = await converseStream(
      'Hi [[sim:output_tokens=10;stream_error=ThrottlingException;after=2]]',
    );
    const deltas: string[] = [];
    const error = await (async () => {
      for await (const event of output.stream ?? []) {
        if (event.contentBlockDelta?.delta?.text) deltas.push(event.contentBlockDelta.delta.text);
      }
    })().catch((e: Error) => e);
    expect(deltas).toEqual(['sim', ' sim']);
    expect(error).toMatchObject({ name: 'ModelStreamErrorException' });
    await settled();
    // Conservative: tokens may have been billed once the answer began.
    const charge = (await spent()) - before;
    expect(charge).toBeGreaterThan(0n);
    charged.push(charge);
  });

  it('refuses a spent budget before the first byte in Bedrock shape (ServiceQuotaExceededException, 400)', async () => {
    const error = await converseStream('Hi', { ...tags, costCenter: 'broke' }).catch((e) => e);
    expect(error).toMatchObject({
      name: 'ServiceQuotaExceededException',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
  });
});

describe('the openai package with stream: true against POST /v1/chat/completions', () => {
  it('streams chunks ending with a usage chunk (choices: []) that carries the charge', async () => {
    const before = await spent();
    const stream = await openai.chat.completions.create({
      model: 'nova-lite',
      messages: [{ role: 'user', content: 'Hello [[sim:output_tokens=4]]' }],
      stream: true,
      stream_options: { include_usage: true },
      metadata: tags,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('sim sim sim sim');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    const last = chunks.at(-1) as (typeof chunks)[number] & { cost_sentry: { cost: { usd: number } } };
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBe(4);
    const charge = (await spent()) - before;
    expect(charge).toBe(usdToPico(last.cost_sentry.cost.usd));
    charged.push(charge);
  });

  it('sends no usage chunk without include_usage', async () => {
    const before = await spent();
    const stream = await openai.chat.completions.create({
      model: 'nova-lite',
      messages: [{ role: 'user', content: 'Hello [[sim:output_tokens=2]]' }],
      stream: true,
      metadata: tags,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.choices.length === 1 && !c.usage)).toBe(true);
    charged.push((await spent()) - before);
  });

  it('throws the error the stream carries when Bedrock fails mid-stream', async () => {
    const before = await spent();
    const stream = await openai.chat.completions.create({
      model: 'nova-lite',
      messages: [
        {
          role: 'user',
          content: 'Hi [[sim:output_tokens=9;stream_error=ModelStreamErrorException;after=3]]',
        },
      ],
      stream: true,
      metadata: tags,
    });
    const error = await (async () => {
      for await (const _ of stream);
    })().catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    // A stream broken once the model began to answer may have been billed: charged its reservation.
    expect(error).toMatchObject({ type: 'api_error', code: 'model_error' });
    await settled();
    const charge = (await spent()) - before;
    expect(charge).toBeGreaterThan(0n);
    charged.push(charge);
  });

  it('refuses a spent budget before the first byte with OpenAI error JSON (insufficient_quota, not retried)', async () => {
    const error = await openai.chat.completions
      .create({
        model: 'nova-lite',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
        metadata: { ...tags, costCenter: 'broke' },
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'insufficient_quota', type: 'insufficient_quota' });
  });
});

describe('an Idempotency-Key on a stream', () => {
  it('replays the first stream to a retry, without calling Bedrock or charging again', async () => {
    const key = `stream-${Date.now()}`;
    const send = () =>
      fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({
          model: 'nova-lite',
          messages: [{ role: 'user', content: 'Once [[sim:output_tokens=3]]' }],
          stream: true,
          stream_options: { include_usage: true },
          metadata: tags,
        }),
      });
    const before = await spent();
    const firstResponse = await send();
    const first = await firstResponse.text();
    const charge = (await spent()) - before;
    const calls = stack.runtime.simulator?.stats.calls;
    const again = await send();
    expect(again.headers.get('content-type')).toContain('text/event-stream');
    expect(again.headers.get('cache-control')).toBe('no-cache');
    // As on every route, the header names this request, and the body is the first answer's.
    expect(again.headers.get('x-request-id')).not.toBe(firstResponse.headers.get('x-request-id'));
    // The same answer (its text joined in one delta), the same ID, usage and cost.
    const chunks = (sse: string) =>
      sse
        .split('\n\n')
        .filter((line) => line.startsWith('data: {'))
        .map((line) => JSON.parse(line.slice('data: '.length)));
    const text = (sse: string) =>
      chunks(sse)
        .map((c) => c.choices[0]?.delta?.content ?? '')
        .join('');
    const replayed = await again.text();
    expect(text(replayed)).toBe(text(first));
    expect(text(first)).toBe('sim sim sim');
    expect(chunks(replayed).at(-1)).toEqual(chunks(first).at(-1));
    expect(replayed.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(stack.runtime.simulator?.stats.calls).toBe(calls);
    expect((await spent()) - before).toBe(charge);
    charged.push(charge);
  });
});

describe('a client that goes away mid-stream', () => {
  it('does not stop the charge: Bedrock is read to its metadata, settled, and nothing stays reserved', async () => {
    const before = await spent();
    const controller = new AbortController();
    const text = 'Hi [[sim:output_tokens=60;token_ms=10]]';
    const response = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'nova-lite',
        messages: [{ role: 'user', content: text }],
        stream: true,
        metadata: tags,
      }),
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"role":"assistant"');
    controller.abort();
    await settled();
    // The whole answer's usage (60 tokens, not the few the client saw), from the stream's metadata.
    const inputTokens = simulatedInputTokens({ messages: [{ role: 'user', content: [{ text }] }] });
    const usage = {
      inputTokens,
      outputTokens: 60,
      totalTokens: 0,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
    };
    expect((await spent()) - before).toBe(costOf(usage));
    charged.push(costOf(usage));
  });
});

describe('exact money', () => {
  it('spends exactly the sum of the charges', async () => {
    await settled();
    expect(await spent()).toBe(charged.reduce((a, b) => a + b, 0n));
  });
});
