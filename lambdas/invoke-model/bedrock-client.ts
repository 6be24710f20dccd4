import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import {
  ModelError,
  ModelThrottledError,
  ModelTimeoutError,
  ModelUnavailableError,
  type SentryError,
} from '../shared/rules/errors.ts';
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
    new ModelError('Bedrock refused the request as invalid for this model.', { cause }),
  AccessDeniedException: (cause) => new ModelError('Bedrock denied access to the model.', { cause }),
  ResourceNotFoundException: (cause) =>
    new ModelError('The model is not available in this account or region.', { cause }),
  ModelErrorException: (cause) => new ModelError('The model failed while processing the request.', { cause }),
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
  const answered =
    (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode !== undefined;
  if (answered) return new ModelError('The model failed to answer.', { cause: error });
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
    ...(input.system !== undefined ? { system: [{ text: input.system }] } : {}),
    messages: input.messages.map((m) => ({ role: m.role, content: [{ text: m.content }] })),
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

function resultOf(output: ConverseCommandOutput): ConverseResult {
  const text = (output.output?.message?.content ?? []).map((block) => block.text ?? '').join('');
  const usage = output.usage;
  return {
    text,
    stopReason: output.stopReason ?? 'end_turn',
    usage: {
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
      totalTokens: usage?.totalTokens ?? 0,
      cacheReadInputTokens: usage?.cacheReadInputTokens ?? 0,
      cacheWriteInputTokens: usage?.cacheWriteInputTokens ?? 0,
    },
  };
}

/**
 * Bedrock through the Converse API. The SDK does not retry (the state machine is the one retry
 * layer) and gives up after `timeoutMs`, which is below the Lambda and state timeouts.
 */
export class BedrockInvoker implements ModelInvoker {
  readonly #client: BedrockRuntimeClient;

  constructor(timeoutMs: number, client?: BedrockRuntimeClient) {
    this.#client =
      client ?? new BedrockRuntimeClient({ maxAttempts: 1, requestHandler: { requestTimeout: timeoutMs } });
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
