import { z } from 'zod';

/**
 * Conversation content in Bedrock Converse's own JSON shape (bytes as base64 text), the one
 * representation every route translates into: the seed format, the Converse wire and OpenAI's.
 * Only what the sentry can bound is accepted; the rest is refused with a clear message.
 */

/** Image formats Converse takes. */
export const IMAGE_FORMATS = ['png', 'jpeg', 'gif', 'webp'] as const;
/** Document formats whose tokens are bounded by their bytes: text, read as text by the model. */
export const TEXT_DOCUMENT_FORMATS = ['txt', 'md', 'html', 'csv'] as const;
/** Document formats Converse takes that the sentry cannot bound from their bytes (binary). */
export const BINARY_DOCUMENT_FORMATS = ['pdf', 'doc', 'docx', 'xls', 'xlsx'] as const;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const base64 = z
  .string()
  .min(1, 'must not be empty')
  .refine((value) => value.length % 4 === 0 && BASE64.test(value), 'must be base64');

const imageBlock = z
  .object({
    format: z.enum(IMAGE_FORMATS, { message: `must be one of ${IMAGE_FORMATS.join(', ')}` }),
    source: z.object({ bytes: base64 }).strict(),
  })
  .strict();

const documentBlock = z
  .object({
    format: z.string().superRefine((format, ctx) => {
      if ((TEXT_DOCUMENT_FORMATS as readonly string[]).includes(format)) return;
      ctx.addIssue({
        code: 'custom',
        message: (BINARY_DOCUMENT_FORMATS as readonly string[]).includes(format)
          ? 'is a binary document format whose tokens the sentry cannot bound; send its text (txt, md, html or csv)'
          : `must be one of ${TEXT_DOCUMENT_FORMATS.join(', ')}`,
      });
    }),
    name: z
      .string()
      .regex(/^[A-Za-z0-9 ()[\]-]{1,200}$/, 'must be 1 to 200 letters, digits, spaces, ()[] or -'),
    source: z.object({ bytes: base64 }).strict(),
  })
  .strict();

const json = z.json();

const toolResultContent = z.union([
  z.object({ text: z.string() }).strict(),
  z.object({ json }).strict(),
  z.object({ image: imageBlock }).strict(),
  z.object({ document: documentBlock }).strict(),
]);

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const toolName = z.string().regex(TOOL_NAME, 'must be 1 to 64 letters, digits, _ or -');
const toolUseId = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -');

const cachePoint = z.object({ type: z.literal('default') }).strict();

/** One content block of a message, as Converse takes it. */
export const contentBlockSchema = z.union([
  z.object({ text: z.string() }).strict(),
  z.object({ image: imageBlock }).strict(),
  z.object({ document: documentBlock }).strict(),
  z.object({ toolUse: z.object({ toolUseId, name: toolName, input: json }).strict() }).strict(),
  z
    .object({
      toolResult: z
        .object({
          toolUseId,
          content: z.array(toolResultContent).min(1),
          status: z.enum(['success', 'error']).optional(),
        })
        .strict(),
    })
    .strict(),
  z.object({ cachePoint }).strict(),
]);

export const systemBlockSchema = z.union([
  z.object({ text: z.string().min(1, 'must not be empty') }).strict(),
  z.object({ cachePoint }).strict(),
]);

export const toolConfigSchema = z
  .object({
    tools: z
      .array(
        z.union([
          z
            .object({
              toolSpec: z
                .object({
                  name: toolName,
                  description: z.string().min(1).optional(),
                  inputSchema: z.object({ json }).strict(),
                })
                .strict(),
            })
            .strict(),
          z.object({ cachePoint }).strict(),
        ]),
      )
      .min(1, 'must hold at least one tool')
      .max(128),
    toolChoice: z
      .union([
        z.object({ auto: z.object({}).strict() }).strict(),
        z.object({ any: z.object({}).strict() }).strict(),
        z.object({ tool: z.object({ name: toolName }).strict() }).strict(),
      ])
      .optional(),
  })
  .strict();

export type ContentBlock = z.infer<typeof contentBlockSchema>;
export type SystemBlock = z.infer<typeof systemBlockSchema>;
export type ToolConfig = z.infer<typeof toolConfigSchema>;

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

/** What a model can take besides text, and what it costs at most (from the catalog). */
export interface ContentLimits {
  /** The most input tokens one image can count; absent when the model takes no images. */
  imageTokenBound?: number | undefined;
  /** The tokens the model's tool-use system prompt adds when tools are given. */
  toolOverheadTokens?: number | undefined;
}

/** Tokens a request costs before any content: the model's prompt template. Generous on purpose. */
export const REQUEST_OVERHEAD_TOKENS = 32;
/** Tokens each message (and the system prompt) adds for its role markers. */
export const MESSAGE_OVERHEAD_TOKENS = 8;
/** Tokens each content block adds for its own markers (tool use IDs, document names...). */
export const BLOCK_OVERHEAD_TOKENS = 8;

const utf8 = new TextEncoder();
/**
 * The bytes a text can take before a tokenizer sees it: as sent, and after NFKC normalisation,
 * which some tokenizers apply first (one ligature such as U+FDFA becomes 18 characters).
 */
export const bytesOf = (text: string) =>
  Math.max(utf8.encode(text).length, utf8.encode(text.normalize('NFKC')).length);
/** A JSON value's bytes, also as a serializer that escapes every non-ASCII character would write it. */
const jsonBytes = (value: unknown) => {
  const text = JSON.stringify(value);
  let nonAscii = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) nonAscii++;
  // Each non-ASCII UTF-16 unit written as \uXXXX: six characters instead of one.
  return Math.max(bytesOf(text), text.length + 5 * nonAscii);
};
/** The decoded length of base64 text. */
const base64Bytes = (b64: string) =>
  Math.floor((b64.length * 3) / 4) - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);

/** A problem that makes content unboundable for this model: the path and what is wrong. */
export class UnboundableContentError extends Error {
  readonly path: string;

  constructor(path: string, message: string) {
    super(message);
    this.path = path;
    this.name = 'UnboundableContentError';
  }
}

/**
 * An upper bound of the input tokens Bedrock will count for this conversation. Every tokenizer
 * Bedrock uses turns at least one UTF-8 byte into each token, so text (and text documents, tool
 * inputs, tool specs) is bounded by its bytes; an image by the model's published maximum; tools by
 * their specs plus the model's tool-use system prompt. Throws UnboundableContentError for content
 * the model cannot take (an image for a text-only model).
 */
export function contentTokenBound(
  prompt: {
    system?: SystemBlock[] | undefined;
    messages: ChatMessage[];
    toolConfig?: ToolConfig | undefined;
  },
  limits: ContentLimits,
): number {
  let tokens = REQUEST_OVERHEAD_TOKENS;
  if (prompt.system) {
    tokens += MESSAGE_OVERHEAD_TOKENS;
    for (const block of prompt.system) if ('text' in block) tokens += bytesOf(block.text);
  }
  prompt.messages.forEach((message, m) => {
    tokens += MESSAGE_OVERHEAD_TOKENS;
    message.content.forEach((block, b) => {
      tokens += blockBound(block, limits, `messages[${m}].content[${b}]`);
    });
  });
  if (prompt.toolConfig) {
    if (limits.toolOverheadTokens === undefined) {
      throw new UnboundableContentError('toolConfig', 'this model does not take tools');
    }
    tokens += limits.toolOverheadTokens + jsonBytes(prompt.toolConfig);
  }
  return tokens;
}

function blockBound(
  block: ContentBlock | z.infer<typeof toolResultContent>,
  limits: ContentLimits,
  path: string,
): number {
  if ('text' in block) return bytesOf(block.text);
  if ('json' in block) return BLOCK_OVERHEAD_TOKENS + jsonBytes(block.json);
  if ('image' in block) {
    if (limits.imageTokenBound === undefined) {
      throw new UnboundableContentError(path, 'this model does not take images');
    }
    return BLOCK_OVERHEAD_TOKENS + limits.imageTokenBound;
  }
  if ('document' in block) {
    // A text document's bytes, decoded and normalised as any text.
    const text = Buffer.from(block.document.source.bytes, 'base64').toString('utf8');
    return (
      BLOCK_OVERHEAD_TOKENS +
      bytesOf(block.document.name) +
      Math.max(base64Bytes(block.document.source.bytes), bytesOf(text))
    );
  }
  if ('toolUse' in block) {
    const { toolUseId: id, name, input } = block.toolUse;
    return BLOCK_OVERHEAD_TOKENS + bytesOf(id) + bytesOf(name) + jsonBytes(input);
  }
  if ('toolResult' in block) {
    return block.toolResult.content.reduce(
      (sum, part, i) => sum + blockBound(part, limits, `${path}.toolResult.content[${i}]`),
      BLOCK_OVERHEAD_TOKENS + bytesOf(block.toolResult.toolUseId),
    );
  }
  return 0; // a cachePoint marks a prefix; it adds no tokens
}

/** The text of a message's blocks, joined: what the seed format answers as `content`. */
export function textOf(blocks: ReadonlyArray<ContentBlock>): string {
  return blocks.map((block) => ('text' in block ? block.text : '')).join('');
}

/** Whether the blocks are text only (so the seed format may answer a plain string). */
export function isTextOnly(blocks: ReadonlyArray<ContentBlock>): boolean {
  return blocks.every((block) => 'text' in block);
}

/** The inference parameters of a model call, in Converse's names. */
export interface InferenceParameters {
  maxTokens: number;
  temperature?: number | undefined;
  topP?: number | undefined;
  topK?: number | undefined;
  stopSequences?: string[] | undefined;
}
