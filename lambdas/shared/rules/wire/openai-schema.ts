import { z } from 'zod';

/**
 * The schema of an OpenAI Chat Completions request as the sentry reads it: the messages, tools and
 * parameters it accepts. Unknown top-level fields are refused; what the sentry cannot honour is
 * refused by name in openai.ts.
 */

const text = z.string();
/** A tool's name, as Converse takes it. */
const TOOL_NAME = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -');
const textPart = z.object({ type: z.literal('text'), text }).strip();
const imagePart = z
  .object({
    type: z.literal('image_url'),
    image_url: z
      .object({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() })
      .strip(),
  })
  .strip();
const refusalPart = z.object({ type: z.literal('refusal'), refusal: text }).strip();

const toolCall = z
  .object({
    id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -'),
    type: z.literal('function'),
    function: z.object({ name: TOOL_NAME, arguments: z.string() }).strip(),
  })
  .strip();

const message = z.discriminatedUnion('role', [
  z
    .object({ role: z.enum(['system', 'developer']), content: z.union([text, z.array(textPart).min(1)]) })
    .strip(),
  z
    .object({
      role: z.literal('user'),
      content: z.union([text, z.array(z.union([textPart, imagePart])).min(1)]),
    })
    .strip(),
  z
    .object({
      role: z.literal('assistant'),
      content: z.union([text, z.array(z.union([textPart, refusalPart])), z.null()]).optional(),
      tool_calls: z.array(toolCall).optional(),
    })
    .strip(),
  z
    .object({
      role: z.literal('tool'),
      tool_call_id: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -'),
      content: z.union([text, z.array(textPart).min(1)]),
    })
    .strip(),
]);

const tool = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -'),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.json()).optional(),
        strict: z.boolean().nullable().optional(),
      })
      .strip(),
  })
  .strip();

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: TOOL_NAME }).strip() }).strip(),
]);

/**
 * Every parameter Chat Completions defines, with what the sentry does with it. Unknown fields
 * are refused (unnamed: they are the client's words); known ones that ask for what Bedrock cannot
 * give are refused by name.
 */
const chatSchema = z
  .object({
    model: z.string().min(1).max(256),
    messages: z.array(message).min(1, 'must hold at least one message'),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    stop: z
      .union([z.string().min(1), z.array(z.string().min(1)).max(4)])
      .nullable()
      .optional(),
    n: z.number().int().positive().nullable().optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).strip().nullable().optional(),
    tools: z.array(tool).min(1).max(128).optional(),
    tool_choice: toolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().nullable().optional(),
    response_format: z.object({ type: z.string() }).loose().optional(),
    presence_penalty: z.number().nullable().optional(),
    frequency_penalty: z.number().nullable().optional(),
    logit_bias: z.record(z.string(), z.number()).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    user: z.string().optional(),
    // Bedrock's requestMetadata takes values of at most 256 characters.
    metadata: z.record(z.string().min(1).max(64), z.string().max(256)).nullable().optional(),
    store: z.boolean().nullable().optional(),
    service_tier: z.string().nullable().optional(),
    reasoning_effort: z.string().nullable().optional(),
    modalities: z.array(z.string()).nullable().optional(),
    audio: z.unknown().optional(),
    prediction: z.unknown().optional(),
    web_search_options: z.unknown().optional(),
    functions: z.unknown().optional(),
    function_call: z.unknown().optional(),
  })
  .strict();

export type ChatRequest = z.infer<typeof chatSchema>;
/** One message of a request, as the schema reads it. */
export type ChatMessageIn = z.infer<typeof message>;

export function chatRequestSchema(): typeof chatSchema {
  return chatSchema;
}
