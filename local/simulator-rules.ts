import { createHash } from 'node:crypto';

/** What the Bedrock simulator reads from a request: its directives, and the usage it counts. */

/** Output tokens of a reply when no directive says otherwise (capped by max_tokens). */
export const DEFAULT_OUTPUT_TOKENS = 32;

export interface Directives {
  outputTokens?: number;
  latencyMs?: number;
  error?: string;
  /** Fail only the first N attempts of this call. */
  times?: number;
  /** Answer a tool use of this tool (stop reason `tool_use`). */
  toolUse?: string;
  /** ConverseStream only: fail the stream with this exception once `after` deltas went out. */
  streamError?: string;
  /** ConverseStream only: how many deltas go out before `streamError`. @default 0 */
  after?: number;
  /** ConverseStream only: milliseconds between two deltas. @default 0 */
  tokenMs?: number;
}

const DIRECTIVE = /\[\[sim:([^\]]*)\]\]/g;

/** Read `[[sim:key=value;key=value]]` directives from a message text. */
export function parseDirectives(text: string): Directives {
  const directives: Directives = {};
  for (const match of text.matchAll(DIRECTIVE)) {
    for (const pair of (match[1] ?? '').split(';')) {
      const [key = '', value = ''] = pair.split('=').map((s) => s.trim());
      if (key === 'output_tokens') directives.outputTokens = Math.max(0, Number.parseInt(value, 10) || 0);
      if (key === 'latency_ms') directives.latencyMs = Math.max(0, Number.parseInt(value, 10) || 0);
      if (key === 'error' && /^[A-Za-z]+$/.test(value)) directives.error = value;
      if (key === 'times') directives.times = Math.max(0, Number.parseInt(value, 10) || 0);
      if (key === 'tool_use' && /^[a-zA-Z0-9_-]{1,64}$/.test(value)) directives.toolUse = value;
      if (key === 'stream_error' && /^[A-Za-z]+$/.test(value)) directives.streamError = value;
      if (key === 'after') directives.after = Math.max(0, Number.parseInt(value, 10) || 0);
      if (key === 'token_ms') directives.tokenMs = Math.max(0, Number.parseInt(value, 10) || 0);
    }
  }
  return directives;
}

export interface Block {
  text?: string;
  image?: unknown;
  document?: { name?: string; source?: { bytes?: string } };
  toolUse?: unknown;
  toolResult?: { content?: Block[] };
  json?: unknown;
  cachePoint?: unknown;
}

export interface ConverseBody {
  system?: Block[];
  messages?: Array<{ role?: string; content?: Block[] }>;
  inferenceConfig?: { maxTokens?: number };
  toolConfig?: { tools?: Array<{ toolSpec?: { name?: string } }> };
}

const utf8Length = (text: string) => Buffer.byteLength(text, 'utf8');

/** What an image counts in the simulator: below every model's published maximum. */
export const SIMULATED_IMAGE_TOKENS = 1_000;
/** What a tool configuration's system prompt counts in the simulator, besides its specs. */
export const SIMULATED_TOOL_OVERHEAD_TOKENS = 300;

/** The bytes a block's content stands for (text, decoded document bytes, tool JSON). */
function blockBytes(block: Block): number {
  if (block.text !== undefined) return utf8Length(block.text);
  if (block.document) return Buffer.from(block.document.source?.bytes ?? '', 'base64').length;
  if (block.toolUse !== undefined) return utf8Length(JSON.stringify(block.toolUse));
  if (block.json !== undefined) return utf8Length(JSON.stringify(block.json));
  if (block.toolResult)
    return (block.toolResult.content ?? []).reduce((sum, part) => sum + blockBytes(part), 0);
  return 0;
}

const countImages = (blocks: Block[]): number =>
  blocks.reduce((n, b) => n + (b.image ? 1 : 0) + countImages(b.toolResult?.content ?? []), 0);

/**
 * Simulated usage of a conversation: ceil(UTF-8 bytes / 4) of its text (documents, tool inputs
 * and results included), a fixed count per image, and the tool specs plus a tool-use overhead.
 * A request with cache points splits at the last one: the prefix is a cache write the first time
 * it is seen and a cache read after that, as Bedrock counts them.
 */
export function simulatedUsage(
  body: ConverseBody,
  seenPrefixes: Set<string> = new Set(),
): { inputTokens: number; cacheReadInputTokens: number; cacheWriteInputTokens: number } {
  const blocks: Block[] = [...(body.system ?? []), ...(body.messages ?? []).flatMap((m) => m.content ?? [])];
  const tokensOf = (part: Block[]) =>
    Math.ceil(part.reduce((sum, b) => sum + blockBytes(b), 0) / 4) +
    countImages(part) * SIMULATED_IMAGE_TOKENS;
  const toolTokens = body.toolConfig
    ? SIMULATED_TOOL_OVERHEAD_TOKENS + Math.ceil(utf8Length(JSON.stringify(body.toolConfig)) / 4)
    : 0;
  const lastCachePoint = blocks.map((b) => b.cachePoint !== undefined).lastIndexOf(true);
  if (lastCachePoint < 0) {
    return { inputTokens: tokensOf(blocks) + toolTokens, cacheReadInputTokens: 0, cacheWriteInputTokens: 0 };
  }
  const prefix = blocks.slice(0, lastCachePoint);
  const key = createHash('sha256').update(JSON.stringify(prefix)).digest('hex');
  const cached = tokensOf(prefix);
  const seen = seenPrefixes.has(key);
  seenPrefixes.add(key);
  return {
    inputTokens: tokensOf(blocks.slice(lastCachePoint + 1)) + toolTokens,
    cacheReadInputTokens: seen ? cached : 0,
    cacheWriteInputTokens: seen ? 0 : cached,
  };
}

/** Simulated input tokens of a text-only request: ceil(UTF-8 bytes / 4) of all its text. */
export function simulatedInputTokens(body: ConverseBody): number {
  return simulatedUsage(body).inputTokens;
}
