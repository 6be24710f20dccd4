import {
  AccessDeniedException,
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  BedrockInvoker,
  converseRequest,
  translateBedrockError,
} from '../../lambdas/invoke-model/bedrock-client.ts';
import type { ConverseInput } from '../../lambdas/invoke-model/core.ts';
import { NOT_BILLED } from '../../lambdas/shared/rules/errors.ts';

const bedrock = mockClient(BedrockRuntimeClient);
beforeEach(() => bedrock.reset());

const input = (overrides: Partial<ConverseInput> = {}): ConverseInput => ({
  model: {
    alias: 'claude-haiku',
    modelId: 'm',
    invokeModelId: 'arn:profile',
    maxOutputTokens: 100,
    topK: 'anthropic',
  },
  system: [{ text: 'Be brief.' }],
  messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
  parameters: { maxTokens: 50, temperature: 0.2, topP: 0.9, topK: 40, stopSequences: ['END'] },
  metadata: { applicationId: 'app', costCenter: 'support', environment: 'dev', requestId: 'req-1' },
  timeoutMs: 1000,
  ...overrides,
});

describe('converseRequest', () => {
  it('sends image and document bytes as the SDK takes them, and the tool configuration', () => {
    const request = converseRequest(
      input({
        messages: [
          {
            role: 'user',
            content: [
              { image: { format: 'png', source: { bytes: 'aGk=' } } },
              { document: { format: 'txt', name: 'notes', source: { bytes: 'aGk=' } } },
            ],
          },
        ],
        toolConfig: {
          tools: [{ toolSpec: { name: 'f', inputSchema: { json: {} } } }],
          toolChoice: { any: {} },
        },
      }),
    );
    const [image, document] = request.messages?.[0]?.content ?? [];
    expect(Buffer.from(image?.image?.source?.bytes as Uint8Array).toString()).toBe('hi');
    expect(Buffer.from(document?.document?.source?.bytes as Uint8Array).toString()).toBe('hi');
    expect(request.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'f', inputSchema: { json: {} } } }],
      toolChoice: { any: {} },
    });
  });

  it('maps the request onto Converse, top_k through additionalModelRequestFields', () => {
    expect(converseRequest(input())).toEqual({
      modelId: 'arn:profile',
      system: [{ text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      inferenceConfig: { maxTokens: 50, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
      additionalModelRequestFields: { top_k: 40 },
      requestMetadata: {
        applicationId: 'app',
        costCenter: 'support',
        environment: 'dev',
        requestId: 'req-1',
      },
    });
  });

  it('puts top_k where Nova models read it', () => {
    const nova = input({ model: { ...input().model, topK: 'nova' } });
    expect(converseRequest(nova).additionalModelRequestFields).toEqual({ inferenceConfig: { topK: 40 } });
  });
});

describe('translateBedrockError', () => {
  it.each([
    ['ThrottlingException', 'ModelThrottledError', 'MODEL_THROTTLED'],
    ['ServiceUnavailableException', 'ModelUnavailableError', 'MODEL_ERROR'],
    ['InternalServerException', 'ModelUnavailableError', 'MODEL_ERROR'],
    ['ModelTimeoutException', 'ModelTimeoutError', 'MODEL_TIMEOUT'],
    ['TimeoutError', 'ModelTimeoutError', 'MODEL_TIMEOUT'],
    ['ValidationException', 'ModelError', 'MODEL_ERROR'],
    ['AccessDeniedException', 'ModelError', 'MODEL_ERROR'],
    ['SomethingNew', 'ModelError', 'MODEL_ERROR'],
  ])('%s becomes %s (%s)', (upstream, name, code) => {
    const error = Object.assign(new Error('upstream says arn:aws:bedrock:secret'), {
      name: upstream,
      $metadata: { httpStatusCode: 400 },
    });
    const translated = translateBedrockError(error);
    expect([translated.name, translated.code]).toEqual([name, code]);
    expect(translated.fields.message).not.toContain('arn:');
  });
});

describe('translateBedrockError without an answer from Bedrock', () => {
  it('treats a refused connection as unavailable (never sent, retried)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(translateBedrockError(refused).name).toBe('ModelUnavailableError');
  });

  it('charges a success whose body could not be read: Bedrock billed it (not retried)', () => {
    const unreadable = Object.assign(new Error('Unexpected end of JSON input'), {
      $metadata: { httpStatusCode: 200 },
    });
    const translated = translateBedrockError(unreadable);
    expect([translated.name, translated.code]).toEqual(['ModelAnswerUnreadableError', 'MODEL_ERROR']);
    expect(NOT_BILLED.has(translated.name)).toBe(false);
  });

  it('treats a dropped connection as a timeout (maybe billed, not retried)', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(translateBedrockError(reset).name).toBe('ModelTimeoutError');
  });
});

describe('BedrockInvoker', () => {
  const invoker = new BedrockInvoker(1000, new BedrockRuntimeClient({ region: 'us-east-1' }));

  it('says a stream its deadline stopped was aborted: a timeout caused by an AbortError, which the streaming core reads', async () => {
    const client = new BedrockRuntimeClient({ region: 'us-east-1' });
    const streaming = new BedrockInvoker(1000, client, client);
    bedrock.on(ConverseStreamCommand).resolves({
      stream: (async function* () {
        yield { messageStart: { role: 'assistant' } };
        // The SDK's stream fails once the call's signal aborts it.
        await new Promise((resolve) => setTimeout(resolve, 60));
        throw Object.assign(new Error('The operation was aborted'), { name: 'Error' });
      })(),
    } as never);
    const events = await streaming.converseStream({ ...input(), timeoutMs: 20 });
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const event of events) seen.push(event);
    })().catch((e: Error) => e);
    expect(seen).toEqual([{ messageStart: { role: 'assistant' } }]);
    expect(error).toMatchObject({ name: 'ModelTimeoutError', cause: { name: 'AbortError' } });
  });

  it('returns the text and tool-use blocks, stop reason and usage', async () => {
    bedrock.on(ConverseCommand).resolves({
      output: {
        message: {
          role: 'assistant',
          content: [
            { text: 'Hello' },
            { text: ' there' },
            { toolUse: { toolUseId: 't1', name: 'lookup', input: { q: 1 } } },
          ],
        },
      },
      stopReason: 'end_turn',
      usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5, cacheReadInputTokens: 1 },
      metrics: { latencyMs: 10 },
    });
    await expect(invoker.converse(input())).resolves.toEqual({
      content: [
        { text: 'Hello' },
        { text: ' there' },
        { toolUse: { toolUseId: 't1', name: 'lookup', input: { q: 1 } } },
      ],
      stopReason: 'end_turn',
      usage: {
        inputTokens: 3,
        outputTokens: 2,
        totalTokens: 5,
        cacheReadInputTokens: 1,
        cacheWriteInputTokens: 0,
      },
    });
  });

  it.each([
    [new ThrottlingException({ message: 'slow down', $metadata: {} }), 'ModelThrottledError'],
    [new ValidationException({ message: 'bad', $metadata: {} }), 'ModelError'],
    [new AccessDeniedException({ message: 'no', $metadata: {} }), 'ModelError'],
  ])('throws our error for %s', async (error, name) => {
    bedrock.on(ConverseCommand).rejects(error);
    await expect(invoker.converse(input())).rejects.toMatchObject({ name });
  });
});
