import { ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import type { LocalStack } from '../../local/stack.ts';
import { counters } from '../helpers/local-runtime.ts';
import { localBedrock, logLines, post, startTestStack } from '../helpers/local-stack.ts';

/**
 * The response cache over HTTP, on every route: the seed format with fetch, Converse with the AWS
 * SDK's own client, Chat Completions with the `openai` package. A hit is charged nothing, so each
 * cost center's spend is exactly the sum of the costs its answers reported.
 */
let stack: LocalStack;
const CACHED = 'cached';
const OTHER = 'cached-too';
const tags = (costCenter: string) => ({ costCenter, applicationId: 'faq-bot', environment: 'dev' });
/** pico-USD each cost center's answers reported, for the exact money check. */
const reported = new Map<string, bigint>();
const charge = (costCenter: string, usd: number) =>
  reported.set(costCenter, (reported.get(costCenter) ?? 0n) + usdToPico(usd));

const seed = (prompt: string, costCenter = CACHED, extra: Record<string, unknown> = {}) => ({
  model: 'nova-lite',
  prompt: {
    messages: [{ role: 'user', content: prompt }],
    parameters: { max_tokens: 64, temperature: 0, ...extra },
  },
  tags: tags(costCenter),
});

beforeAll(async () => {
  stack = await startTestStack();
  // One through the admin API (the same input schema as the config), one straight into the table.
  const put = await post(
    stack,
    { period: 'monthly', limitUsd: 10, cache: { ttlSeconds: 3600 } },
    { method: 'PUT', path: `/v1/budgets/${CACHED}` },
  );
  expect(put.status).toBe(201);
  expect(put.json.cache).toEqual({ ttlSeconds: 3600 });
  await stack.runtime.store.putBudget({
    costCenter: OTHER,
    period: 'monthly',
    limitPico: usdToPico(10),
    alertThresholds: [],
    cache: { ttlSeconds: 3600 },
  });
});
afterAll(() => stack?.close());

describe('the response cache on POST /v1/invoke', () => {
  it('answers the same request again from the cache, charged nothing, with what it saved', async () => {
    const first = await post(stack, seed('What is our refund policy? [[sim:output_tokens=20]]'));
    const again = await post(stack, seed('What is our refund policy? [[sim:output_tokens=20]]'));

    expect(first.status).toBe(200);
    expect(first.json.cache).toBeUndefined();
    expect(again.status).toBe(200);
    expect(again.json.output).toEqual(first.json.output);
    expect(again.json.cost.usd).toBe(0);
    expect(again.json.usage.outputTokens).toBe(0);
    expect(again.json.cache).toEqual({ hit: true, savedUsd: first.json.cost.usd });
    charge(CACHED, first.json.cost.usd);
  });

  it('never serves one cost center the answer another one paid for', async () => {
    const prompt = 'Which plan fits a team of ten? [[sim:output_tokens=12]]';
    const mine = await post(stack, seed(prompt));
    const theirs = await post(stack, seed(prompt, OTHER));

    expect(mine.json.cache).toBeUndefined();
    expect(theirs.status).toBe(200);
    expect(theirs.json.cache).toBeUndefined();
    expect(theirs.json.cost.usd).toBeGreaterThan(0);
    charge(CACHED, mine.json.cost.usd);
    charge(OTHER, theirs.json.cost.usd);
  });

  it('skips the cache for a request with Cache-Control: no-cache, and serves it to the next one', async () => {
    const prompt = 'Summarise the changelog. [[sim:output_tokens=9]]';
    const first = await post(stack, seed(prompt));
    const fresh = await post(stack, seed(prompt), { headers: { 'Cache-Control': 'no-cache' } });
    const cached = await post(stack, seed(prompt));

    expect(fresh.json.cache).toBeUndefined();
    expect(fresh.json.cost.usd).toBeGreaterThan(0);
    expect(cached.json.cache?.hit).toBe(true);
    charge(CACHED, first.json.cost.usd + fresh.json.cost.usd);
  });

  it('keeps only answers sampled at temperature 0 by default', async () => {
    const prompt = 'Write a tagline. [[sim:output_tokens=7]]';
    const first = await post(stack, seed(prompt, CACHED, { temperature: 0.9 }));
    const again = await post(stack, seed(prompt, CACHED, { temperature: 0.9 }));

    expect(again.json.cache).toBeUndefined();
    expect(again.json.cost.usd).toBeGreaterThan(0);
    charge(CACHED, first.json.cost.usd + again.json.cost.usd);
  });
});

describe('the response cache on the drop-in routes', () => {
  it('answers a repeated ConverseCommand from the cache, charged nothing', async () => {
    const bedrock = localBedrock(stack);
    const converse = () =>
      bedrock.send(
        new ConverseCommand({
          modelId: 'nova-lite',
          messages: [{ role: 'user', content: [{ text: 'Name three colours. [[sim:output_tokens=6]]' }] }],
          inferenceConfig: { maxTokens: 64, temperature: 0 },
          requestMetadata: tags(CACHED),
        }),
      );
    const before = await counters(stack.runtime, CACHED);

    const first = await converse();
    const afterFirst = await counters(stack.runtime, CACHED);
    const again = await converse();
    bedrock.destroy();

    expect(again.output).toEqual(first.output);
    expect(again.usage?.inputTokens).toBe(0);
    expect((await counters(stack.runtime, CACHED)).spentPico).toBe(afterFirst.spentPico);
    reported.set(CACHED, (reported.get(CACHED) ?? 0n) + afterFirst.spentPico - before.spentPico);
  });

  it('says a Converse hit cost nothing in its cost header', async () => {
    const body = {
      messages: [{ role: 'user', content: [{ text: 'Count to three. [[sim:output_tokens=3]]' }] }],
      inferenceConfig: { maxTokens: 64, temperature: 0 },
      requestMetadata: tags(CACHED),
    };
    const path = '/model/nova-lite/converse';

    const first = await post(stack, body, { path });
    const again = await post(stack, body, { path });

    expect(Number(first.headers.get('x-cost-sentry-cost-usd'))).toBeGreaterThan(0);
    expect(again.headers.get('x-cost-sentry-cost-usd')).toBe('0');
    expect(again.headers.get('x-cost-sentry-cache')).toBe('hit');
    expect(first.headers.get('x-cost-sentry-cache')).toBeNull();
    expect(again.json.output).toEqual(first.json.output);
    charge(CACHED, Number(first.headers.get('x-cost-sentry-cost-usd')));
  });

  it('answers a repeated chat completion from the cache, with the cost_sentry extension saying so', async () => {
    const openai = new OpenAI({ apiKey: 'local', baseURL: `${stack.url}/v1` });
    const ask = () =>
      openai.chat.completions.create({
        model: 'nova-lite',
        messages: [{ role: 'user', content: 'Say hi. [[sim:output_tokens=4]]' }],
        max_tokens: 64,
        temperature: 0,
        metadata: tags(CACHED),
      });

    const first = await ask();
    const again = await ask();

    const extension = (c: unknown) => (c as { cost_sentry: Record<string, any> }).cost_sentry;
    expect(again.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(extension(first).cache).toBeUndefined();
    expect(extension(again).cache).toEqual({ hit: true, savedUsd: extension(first).cost.usd });
    expect(extension(again).cost.usd).toBe(0);
    charge(CACHED, extension(first).cost.usd);
  });

  it('answers a repeated ConverseStreamCommand from the cache, as a stream, charged nothing', async () => {
    const bedrock = localBedrock(stack);
    // The raw response's headers, which the SDK's output does not show.
    let headers: Record<string, string> = {};
    bedrock.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        headers = (result.response as { headers: Record<string, string> }).headers;
        return result;
      },
      { step: 'deserialize' },
    );
    let idempotencyKey: string | undefined;
    bedrock.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers: Record<string, string> };
        if (idempotencyKey) request.headers['idempotency-key'] = idempotencyKey;
        return next(args);
      },
      { step: 'build' },
    );
    const stream = async () => {
      const output = await bedrock.send(
        new ConverseStreamCommand({
          modelId: 'nova-lite',
          messages: [{ role: 'user', content: [{ text: 'Name four seasons. [[sim:output_tokens=8]]' }] }],
          inferenceConfig: { maxTokens: 64, temperature: 0 },
          requestMetadata: tags(CACHED),
        }),
      );
      let text = '';
      let inputTokens: number | undefined;
      for await (const event of output.stream ?? []) {
        text += event.contentBlockDelta?.delta?.text ?? '';
        inputTokens = event.metadata?.usage?.inputTokens ?? inputTokens;
      }
      return { text, inputTokens, cache: headers['x-cost-sentry-cache'] };
    };
    const before = await counters(stack.runtime, CACHED);

    const first = await stream();
    const afterFirst = await counters(stack.runtime, CACHED);
    const again = await stream();
    // A hit kept under an Idempotency-Key replays as a hit, headers included.
    idempotencyKey = 'stream-cache-hit-1';
    const keyed = await stream();
    const replayed = await stream();
    bedrock.destroy();

    expect(keyed).toEqual(again);
    expect(replayed).toEqual(again);

    expect(first.inputTokens).toBeGreaterThan(0);
    expect(first.cache).toBeUndefined();
    expect(again).toEqual({ text: first.text, inputTokens: 0, cache: 'hit' });
    expect((await counters(stack.runtime, CACHED)).spentPico).toBe(afterFirst.spentPico);
    reported.set(CACHED, (reported.get(CACHED) ?? 0n) + afterFirst.spentPico - before.spentPico);
  });

  it('answers a repeated streamed chat completion from the cache, the usage chunk saying so', async () => {
    const openai = new OpenAI({ apiKey: 'local', baseURL: `${stack.url}/v1` });
    const ask = async () => {
      const chunks = await openai.chat.completions.create({
        model: 'nova-lite',
        messages: [{ role: 'user', content: 'Say bye. [[sim:output_tokens=5]]' }],
        max_tokens: 64,
        temperature: 0,
        metadata: tags(CACHED),
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let extension: Record<string, any> | undefined;
      for await (const chunk of chunks) {
        text += chunk.choices[0]?.delta?.content ?? '';
        extension = (chunk as unknown as { cost_sentry?: Record<string, any> }).cost_sentry ?? extension;
      }
      return { text, extension };
    };

    const first = await ask();
    const again = await ask();

    expect(again.text).toBe(first.text);
    expect(first.extension?.cache).toBeUndefined();
    expect(again.extension?.cache).toEqual({ hit: true, savedUsd: first.extension?.cost.usd });
    expect(again.extension?.cost.usd).toBe(0);
    charge(CACHED, first.extension?.cost.usd);
  });
});

describe('what a hit leaves behind', () => {
  it("charges nothing: each cost center's spend is the sum of the costs its answers reported", async () => {
    for (const costCenter of [CACHED, OTHER]) {
      expect((await counters(stack.runtime, costCenter)).spentPico).toBe(reported.get(costCenter));
    }
  });

  it('counts the hits in the metrics and in the report', async () => {
    const metricLines = logLines(stack).filter((line) => line.CacheHits !== undefined);
    const report = await post(stack, undefined, { method: 'GET', path: `/v1/report?costCenter=${CACHED}` });

    expect(metricLines).toHaveLength(8);
    expect(metricLines.every((line) => line.SavedUSD > 0)).toBe(true);
    expect(report.json.total.cacheHits).toBe(8);
    expect(report.json.total.savedUsd).toBeCloseTo(
      metricLines.reduce((sum, line) => sum + line.SavedUSD, 0),
      12,
    );
  });
});

describe('the CLI sets a budget cache', () => {
  it('takes --cache-ttl and --cache-any-temperature, and budgets get shows them', async () => {
    const { execFile } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const cliPath = fileURLToPath(new URL('../../cli/cost-sentry.ts', import.meta.url));
    const run = (...args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, [cliPath, ...args, '--endpoint', stack.url], (error, stdout) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
        ),
      );
    const set = await run(
      'budgets',
      'set',
      'clicache',
      '--period',
      'monthly',
      '--limit-usd',
      '5',
      '--cache-ttl',
      '600',
      '--cache-any-temperature',
    );
    expect(set.code).toBe(0);
    const get = await run('budgets', 'get', 'clicache', '--format', 'json');
    expect(JSON.parse(get.stdout).cache).toEqual({ ttlSeconds: 600, anyTemperature: true });
  });
});
