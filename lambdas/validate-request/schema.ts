import { z } from 'zod';
import { contentBlockSchema, systemBlockSchema, toolConfigSchema } from '../shared/rules/content.ts';

/**
 * The seed format's request (POST /v1/invoke). Content and the system prompt are text, as in seed
 * 001, or arrays of Converse content blocks; `tools` and `toolChoice` are Converse's. Unknown
 * fields are refused at every level. Tags may be left out only when an API key's binding names
 * exactly one value for them (checked after parsing, with the binding).
 */
const tagValue = z.string();

const text = (maxChars: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(maxChars, `must be at most ${maxChars} characters`)
    .refine((value) => value.trim().length > 0, 'must not be blank');

export const parametersSchema = z
  .object({
    max_tokens: z.number().int('must be a whole number').positive('must be at least 1').optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int('must be a whole number').min(1).max(500).optional(),
    stop_sequences: z.array(z.string().min(1).max(256)).max(4).optional(),
  })
  .strict();

const schemas = new Map<string, ReturnType<typeof buildSchema>>();

/** The invoke request schema for these limits, built once (schemas are not cheap to build). */
export function invokeRequestSchema(maxMessages: number, maxContentChars: number) {
  const key = `${maxMessages}/${maxContentChars}`;
  let schema = schemas.get(key);
  if (!schema) {
    schema = buildSchema(maxMessages, maxContentChars);
    schemas.set(key, schema);
  }
  return schema;
}

function buildSchema(maxMessages: number, maxContentChars: number) {
  const messageSchema = z
    .object({
      role: z.enum(['user', 'assistant']),
      content: z.union([
        text(maxContentChars),
        z.array(contentBlockSchema).min(1, 'must hold at least one block'),
      ]),
    })
    .strict();
  return z
    .object({
      model: z.string().min(1).max(256),
      prompt: z
        .object({
          system: z.union([text(maxContentChars), z.array(systemBlockSchema).min(1)]).optional(),
          messages: z
            .array(messageSchema)
            .min(1, 'must hold at least one message')
            .max(maxMessages, `must hold at most ${maxMessages} messages`),
          tools: toolConfigSchema.shape.tools.optional(),
          toolChoice: toolConfigSchema.shape.toolChoice,
          parameters: parametersSchema.optional(),
        })
        .strict(),
      tags: z
        .object({
          applicationId: tagValue.optional(),
          costCenter: tagValue.optional(),
          environment: tagValue.optional(),
        })
        .strict()
        .optional(),
    })
    .strict();
}

export type InvokeRequest = z.infer<ReturnType<typeof invokeRequestSchema>>;
