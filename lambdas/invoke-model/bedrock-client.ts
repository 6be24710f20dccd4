import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
  ConverseStreamCommand,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import type { ContentBlock } from '../shared/rules/content.ts';
import {
  ModelAnswerUnreadableError,
  ModelError,
  ModelThrottledError,
  ModelTimeoutError,
  ModelUnavailableError,
  type SentryError,
} from '../shared/rules/errors.ts';
import type { Usage } from '../shared/rules/pricing.ts';
import type { ConverseStreamEvent } from '../shared/rules/wire/stream.ts';
import type { ConverseInput, ConverseResult, ModelInvoker } from './core.ts';

/** Seconds a client is asked to wait after throttling persisted through the retries. */
export const THROTTLE_RETRY_AFTER_SECONDS = 2;

/** How Bedrock's exception names map to ours. Messages are ours: Bedrock's may name ARNs. */
const TRANSLATIONS: Record<string, (cause: unknown) => SentryError> = {
  ThrottlingException: (cause) => new ModelThrottledError(THROTTLE_RETRY_AFTER_SECONDS, { cause }),
  ServiceQuotaExceededException: (cause) => new ModelThrottledError(THROTTLE_RETRY_AFTER_SECONDS, { cause }),
  ModelNotReadyException: (cause) => new ModelUnavailableError({ cause }),
  ServiceUnavailableException: (cause) => new ModelUnavailableError({ cause }),
  InternalServerException: (cause) => new ModelUnavailableError({ cause }),
  ModelTimeoutException: (cause) => new ModelTimeoutError({ cause }),
  TimeoutError: (cause) => new ModelTimeoutError({ cause }),
  RequestTimeout: (cause) => new ModelTimeoutError({ cause }),
  AbortError: (cause) => new ModelTimeoutError({ cause }),
  ValidationException: (cause) =>
    new ModelError('Bedrock refused the request as invalid for this model.', {
      cause,
      upstream: 'ValidationException',
    }),
  AccessDeniedException: (cause) =>
    new ModelError('Bedrock denied access to the model.', { cause, upstream: 'AccessDeniedException' }),
  ResourceNotFoundException: (cause) =>
    new ModelError('The model is not available in this account or region.', {
      cause,
      upstream: 'ResourceNotFoundException',
    }),
  ModelErrorException: (cause) =>
    new ModelError('The model failed while processing the request.', {
      cause,
      upstream: 'ModelErrorException',
    }),
};

/** Connection failures that mean the request never reached Bedrock: safe to retry, nothing billed. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Translate anything the SDK throws into one of our errors. A failure with no answer from
 * Bedrock (the connection dropped mid-call) may still have been billed, so it counts as a
 * timeout: not retried, and charged its reservation.
 */
export function translateBedrockError(error: unknown): SentryError {
  const name = error instanceof Error ? error.name : '';
  const translate = TRANSLATIONS[name];
  if (translate) return translate(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  // A success whose body could not be read was billed: charged its reservation, never retried.
  if (status !== undefined && status >= 200 && status < 300)
    return new ModelAnswerUnreadableError({ cause: error });
  if (status !== undefined) return new ModelError('The model failed to answer.', { cause: error });
  const code = String((error as { code?: unknown })?.code ?? '');
  return NOT_SENT.has(code)
    ? new ModelUnavailableError({ cause: error })
    : new ModelTimeoutError({ cause: error });
}

/** Build the Converse request: parameters Converse lacks (top_k) go in additionalModelRequestFields. */
export function converseRequest(input: ConverseInput): ConverseCommandInput {
  const { model, parameters } = input;
  const topK: ConverseCommandInput['additionalModelRequestFields'] =
    parameters.topK === undefined || model.topK === 'none'
      ? undefined
      : model.topK === 'anthropic'
        ? { top_k: parameters.topK }
        : { inferenceConfig: { topK: parameters.topK } };
  return {
    modelId: model.invokeModelId,
    ...(input.system !== undefined ? { system: input.system as ConverseCommandInput['system'] } : {}),
    messages: input.messages.map((m) => ({ role: m.role, content: m.content.map(toSdkBlock) })),
    ...(input.toolConfig ? { toolConfig: input.toolConfig as ConverseCommandInput['toolConfig'] } : {}),
    inferenceConfig: {
      maxTokens: parameters.maxTokens,
      ...(parameters.temperature !== undefined ? { temperature: parameters.temperature } : {}),
      ...(parameters.topP !== undefined ? { topP: parameters.topP } : {}),
      ...(parameters.stopSequences !== undefined ? { stopSequences: parameters.stopSequences } : {}),
    },
    ...(topK ? { additionalModelRequestFields: topK } : {}),
    requestMetadata: { ...input.metadata },
  };
}

type SdkBlock = NonNullable<NonNullable<ConverseCommandInput['messages']>[number]['content']>[number];

const fromBase64 = (b64: string) => Buffer.from(b64, 'base64');

/** A block of the state (bytes as base64 text, as Converse's JSON has them) as the SDK takes it (bytes). */
function toSdkBlock(block: ContentBlock): SdkBlock {
  if ('image' in block) {
    return { image: { format: block.image.format, source: { bytes: fromBase64(block.image.source.bytes) } } };
  }
  if ('document' in block) {
    const { format, name, source } = block.document;
    return { document: { format: format as 'txt', name, source: { bytes: fromBase64(source.bytes) } } };
  }
  if ('toolResult' in block) {
    return {
      toolResult: {
        ...block.toolResult,
        content: block.toolResult.content.map((part) =>
          'image' in part || 'document' in part ? (toSdkBlock(part) as never) : (part as never),
        ),
      },
    } as SdkBlock;
  }
  return block as SdkBlock;
}

/** The answer's blocks the sentry passes on: text and tool uses (JSON-safe, for the state). */
function answerBlocks(output: ConverseCommandOutput): ContentBlock[] {
  return (output.output?.message?.content ?? []).flatMap((block): ContentBlock[] => {
    if (block.text !== undefined) return [{ text: block.text }];
    if (block.toolUse) {
      const { toolUseId = '', name = '', input = {} } = block.toolUse;
      return [{ toolUse: { toolUseId, name, input: input as never } }];
    }
    return [];
  });
}

function usageOf(usage: ConverseCommandOutput['usage']): Usage {
  return {
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    totalTokens: usage?.totalTokens ?? 0,
    cacheReadInputTokens: usage?.cacheReadInputTokens ?? 0,
    cacheWriteInputTokens: usage?.cacheWriteInputTokens ?? 0,
  };
}

function resultOf(output: ConverseCommandOutput): ConverseResult {
  return {
    content: answerBlocks(output),
    stopReason: output.stopReason ?? 'end_turn',
    usage: usageOf(output.usage),
  };
}

/** One SDK stream event in our JSON shape; undefined for what the sentry does not pass on (reasoning, say). */
function streamEventOf(event: ConverseStreamOutput): ConverseStreamEvent | undefined {
  if (event.messageStart) return { messageStart: { role: 'assistant' } };
  if (event.contentBlockStart?.start?.toolUse) {
    const { toolUseId = '', name = '' } = event.contentBlockStart.start.toolUse;
    const contentBlockIndex = event.contentBlockStart.contentBlockIndex ?? 0;
    return { contentBlockStart: { contentBlockIndex, start: { toolUse: { toolUseId, name } } } };
  }
  if (event.contentBlockDelta) {
    const { contentBlockIndex = 0, delta } = event.contentBlockDelta;
    if (delta?.text !== undefined)
      return { contentBlockDelta: { contentBlockIndex, delta: { text: delta.text } } };
    if (delta?.toolUse)
      return {
        contentBlockDelta: { contentBlockIndex, delta: { toolUse: { input: delta.toolUse.input ?? '' } } },
      };
    return undefined;
  }
  if (event.contentBlockStop)
    return { contentBlockStop: { contentBlockIndex: event.contentBlockStop.contentBlockIndex ?? 0 } };
  if (event.messageStop) return { messageStop: { stopReason: event.messageStop.stopReason ?? 'end_turn' } };
  if (event.metadata) {
    return {
      metadata: {
        usage: usageOf(event.metadata.usage),
        metrics: { latencyMs: event.metadata.metrics?.latencyMs ?? 0 },
      },
    };
  }
  return undefined;
}

/**
 * Bedrock through the Converse API. The SDK does not retry (the state machine is the one retry
 * layer) and gives up after `timeoutMs`, which is below the Lambda and state timeouts.
 */
export class BedrockInvoker implements ModelInvoker {
  readonly #client: BedrockRuntimeClient;
  #streamClient: BedrockRuntimeClient | undefined;

  constructor(timeoutMs: number, client?: BedrockRuntimeClient, streamClient?: BedrockRuntimeClient) {
    this.#client =
      client ?? new BedrockRuntimeClient({ maxAttempts: 1, requestHandler: { requestTimeout: timeoutMs } });
    this.#streamClient = streamClient;
  }

  /**
   * ConverseStream. No step function retries a stream, so the SDK is its one retry layer, before
   * the stream opens only (throttling and transient errors, its standard mode); once an event
   * came, nothing is retried. `timeoutMs` bounds the whole stream, draining included. Every
   * failure, before or during the stream, is one of our errors.
   */
  async converseStream(input: ConverseInput): Promise<AsyncIterable<ConverseStreamEvent>> {
    this.#streamClient ??= new BedrockRuntimeClient({ maxAttempts: 3 });
    const signal = AbortSignal.timeout(input.timeoutMs);
    let stream: AsyncIterable<ConverseStreamOutput>;
    try {
      const output = await this.#streamClient.send(new ConverseStreamCommand(converseRequest(input)), {
        abortSignal: signal,
      });
      if (!output.stream) throw new ModelError('The model answered no stream.');
      stream = output.stream;
    } catch (error) {
      throw error instanceof ModelError ? error : translateBedrockError(error);
    }
    return (async function* () {
      try {
        for await (const event of stream) {
          const ours = streamEventOf(event);
          if (ours) yield ours;
        }
      } catch (error) {
        throw translateBedrockError(
          signal.aborted ? Object.assign(new Error('aborted'), { name: 'AbortError' }) : error,
        );
      }
    })();
  }

  async converse(input: ConverseInput): Promise<ConverseResult> {
    try {
      const output = await this.#client.send(new ConverseCommand(converseRequest(input)), {
        abortSignal: AbortSignal.timeout(input.timeoutMs),
      });
      return resultOf(output);
    } catch (error) {
      throw translateBedrockError(error);
    }
  }
}
