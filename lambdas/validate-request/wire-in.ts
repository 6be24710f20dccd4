import { InvalidRequestError } from '../shared/rules/errors.ts';
import { parseJsonBody } from '../shared/rules/json-body.ts';
import {
  converseBodySchema,
  fromConverse,
  unsupportedConverseFields,
} from '../shared/rules/wire/converse.ts';
import { fromOpenAi, UnsupportedParameterError } from '../shared/rules/wire/openai.ts';
import { chatRequestSchema } from '../shared/rules/wire/openai-schema.ts';
import type { Route, WireRequest } from '../shared/rules/wire/request.ts';
import { invokeRequestSchema } from './schema.ts';

/** Where each route's fields sit in its own body, for error details. */
export const FIELD_PATHS: Record<Route, { tags: string; messages: string; parameters: string }> = {
  invoke: { tags: 'tags', messages: 'prompt.messages', parameters: 'prompt.parameters' },
  converse: { tags: 'requestMetadata', messages: 'messages', parameters: 'inferenceConfig' },
  openai: { tags: 'metadata', messages: 'messages', parameters: '' },
};

/**
 * Read a request body in its route's wire format into the one shape every route shares: the
 * translator in. Throws InvalidRequestError with details that name the wire's own fields.
 */
export function readWire(
  route: Route,
  body: string,
  limits: { maxMessages: number; maxContentChars: number },
  modelId?: string,
  streaming = false,
): WireRequest {
  switch (route) {
    case 'invoke': {
      const request = parseJsonBody(
        body,
        invokeRequestSchema(limits.maxMessages, limits.maxContentChars),
        'The request',
      );
      const { prompt, tags = {} } = request;
      const parameters = prompt.parameters ?? {};
      return {
        model: request.model,
        ...(prompt.system === undefined
          ? {}
          : { system: typeof prompt.system === 'string' ? [{ text: prompt.system }] : prompt.system }),
        messages: prompt.messages.map((m) => ({
          role: m.role,
          content: typeof m.content === 'string' ? [{ text: m.content }] : m.content,
        })),
        ...(prompt.tools
          ? {
              toolConfig: {
                tools: prompt.tools,
                ...(prompt.toolChoice ? { toolChoice: prompt.toolChoice } : {}),
              },
            }
          : {}),
        parameters: {
          maxTokens: parameters.max_tokens,
          temperature: parameters.temperature,
          topP: parameters.top_p,
          topK: parameters.top_k,
          stopSequences: parameters.stop_sequences,
        },
        tags,
      };
    }
    case 'converse': {
      if (!modelId)
        throw new InvalidRequestError('The path names no model.', [
          { path: 'modelId', message: 'is required' },
        ]);
      refuseUnsupportedConverse(body);
      const schema = converseBodySchema(limits.maxMessages);
      const request = parseJsonBody(body, schema, 'The request');
      return fromConverse(modelId, request);
    }
    case 'openai': {
      const request = parseJsonBody(body, chatRequestSchema(), 'The request');
      try {
        return fromOpenAi(request, { streaming });
      } catch (error) {
        if (error instanceof UnsupportedParameterError) {
          throw new InvalidRequestError(error.message, [{ path: error.param, message: 'is not supported' }]);
        }
        throw error;
      }
    }
  }
}

/** Refuse what a Converse body asks for that the sentry does not take, naming Bedrock's fields. */
export function refuseUnsupportedConverse(body: string): void {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return; // parseJsonBody says so
  }
  const unsupported = unsupportedConverseFields(json);
  if (unsupported.length > 0) {
    throw new InvalidRequestError('The request asks for what the sentry does not support.', unsupported);
  }
}
