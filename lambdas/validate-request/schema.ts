import { z } from 'zod';
import { TAG_VALUE } from '../shared/rules/catalog.ts';

const tagValue = z
  .string()
  .regex(
    TAG_VALUE,
    'must be 1 to 64 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

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

/** The invoke request (seed 001 format). Unknown fields are refused at every level. */
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
    .object({ role: z.enum(['user', 'assistant']), content: text(maxContentChars) })
    .strict();
  return z
    .object({
      model: z.string().min(1).max(256),
      prompt: z
        .object({
          system: text(maxContentChars).optional(),
          messages: z
            .array(messageSchema)
            .min(1, 'must hold at least one message')
            .max(maxMessages, `must hold at most ${maxMessages} messages`)
            .superRefine((messages, ctx) => {
              messages.forEach((message, index) => {
                const expected = index % 2 === 0 ? 'user' : 'assistant';
                if (message.role !== expected) {
                  ctx.addIssue({
                    code: 'custom',
                    path: [index, 'role'],
                    message: `must be '${expected}': roles alternate, starting with 'user'`,
                  });
                }
              });
            }),
          parameters: parametersSchema.optional(),
        })
        .strict(),
      tags: z.object({ applicationId: tagValue, costCenter: tagValue, environment: tagValue }).strict(),
    })
    .strict();
}

export type InvokeRequest = z.infer<ReturnType<typeof invokeRequestSchema>>;
