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
