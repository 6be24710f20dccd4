import { createHash } from 'node:crypto';
import type { SystemBlock } from './content.ts';

/**
 * What the advisor's prompt-caching lever reads: how often one system prompt is sent. The
 * aggregates keep a SHA-256 of the prompt's text and an estimate of its size, never the text.
 */

/** One system prompt's repeats: a hash of its text (never the text), its size and its use. */
export interface SystemPromptUse {
  costCenter: string;
  applicationId: string;
  modelId: string;
  systemHash: string;
  /** About how many tokens the prompt is: its characters over `CHARS_PER_TOKEN`. */
  systemTokens: number;
  requests: number;
}

/** A rough size of English text in tokens, enough to compare with a model's cache minimum. */
export const CHARS_PER_TOKEN = 4;

/**
 * Prompts smaller than this are not recorded: no Bedrock model caches a prefix under 1,024
 * tokens, the smallest of the config's `advice.cacheMinTokens`. It also keeps one item per
 * distinct prompt for the prompts that matter.
 */
export const SYSTEM_PROMPT_MIN_TOKENS = 1024;

/**
 * The hash and size of a request's system prompt, when it is worth recording: large enough to
 * cache and not already followed by a cachePoint (that request already uses prompt caching).
 */
export function systemPromptOf(
  system: readonly SystemBlock[] | undefined,
): Pick<SystemPromptUse, 'systemHash' | 'systemTokens'> | undefined {
  if (!system || system.some((block) => 'cachePoint' in block)) return undefined;
  const text = system.map((block) => ('text' in block ? block.text : '')).join('\n');
  const systemTokens = Math.ceil(text.length / CHARS_PER_TOKEN);
  if (systemTokens < SYSTEM_PROMPT_MIN_TOKENS) return undefined;
  return { systemHash: createHash('sha256').update(text).digest('hex'), systemTokens };
}

/** Uses of the same prompt by the same application and model, summed over their days. */
export function sumSystemPromptUses(uses: readonly SystemPromptUse[]): SystemPromptUse[] {
  const sums = new Map<string, SystemPromptUse>();
  for (const use of uses) {
    const id = [use.costCenter, use.applicationId, use.modelId, use.systemHash].join('\u0000');
    const sum = sums.get(id);
    if (sum) sum.requests += use.requests;
    else sums.set(id, { ...use });
  }
  return [...sums.values()];
}
