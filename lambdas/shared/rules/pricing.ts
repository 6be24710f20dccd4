import type { ModelPricePico } from './catalog.ts';
import { costOfTokens, maxBigInt } from './money.ts';

/** Token usage as Bedrock reports it. `inputTokens` excludes the cache-read and cache-write tokens. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cacheReadInputTokens: number;
  cacheWriteInputTokens: number;
}

export interface PromptText {
  system?: string | undefined;
  messages: ReadonlyArray<{ content: string }>;
}

/** Tokens a request costs before any text: the model's prompt template. Generous on purpose. */
export const REQUEST_OVERHEAD_TOKENS = 32;
/** Tokens each message (and the system prompt) adds for its role markers. */
export const MESSAGE_OVERHEAD_TOKENS = 8;

const utf8 = new TextEncoder();

/**
 * An upper bound of the input tokens Bedrock will count. Every tokenizer Bedrock uses turns at
 * least one UTF-8 byte into each token, so the byte count plus the role and template overhead can
 * never be below the real count.
 */
export function inputTokenBound(prompt: PromptText): number {
  let tokens = REQUEST_OVERHEAD_TOKENS;
  if (prompt.system !== undefined) tokens += utf8.encode(prompt.system).length + MESSAGE_OVERHEAD_TOKENS;
  for (const message of prompt.messages) {
    tokens += utf8.encode(message.content).length + MESSAGE_OVERHEAD_TOKENS;
  }
  return tokens;
}

/**
 * The worst-case cost of a request: every input token at the dearest input rate (plain, cache
 * read or cache write) and `maxTokens` output tokens.
 */
export function worstCaseCost(inputTokens: number, maxTokens: number, price: ModelPricePico): bigint {
  const dearestInput = maxBigInt(price.input, price.cacheRead, price.cacheWrite);
  return costOfTokens(inputTokens, dearestInput) + costOfTokens(maxTokens, price.output);
}

/** The real cost of a request from Bedrock's usage figures. */
export function usageCost(usage: Usage, price: ModelPricePico): bigint {
  return (
    costOfTokens(usage.inputTokens, price.input) +
    costOfTokens(usage.outputTokens, price.output) +
    costOfTokens(usage.cacheReadInputTokens, price.cacheRead) +
    costOfTokens(usage.cacheWriteInputTokens, price.cacheWrite)
  );
}

/** Tokens a request counts against a token budget. */
export function usageTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens + usage.cacheReadInputTokens + usage.cacheWriteInputTokens;
}
