import type { ChatMessage, SystemBlock, ToolConfig } from '../content.ts';

/** The routes a request can come in by; each speaks its own wire format. */
export const ROUTES = ['invoke', 'converse', 'openai'] as const;
export type Route = (typeof ROUTES)[number];

/** Inference parameters as every wire format names them once translated. */
export interface WireParameters {
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  topP?: number | undefined;
  topK?: number | undefined;
  stopSequences?: string[] | undefined;
}

/**
 * A request once its wire format is read: the model as the client named it, the conversation in
 * Converse blocks, the parameters, and the tags (absent ones may come from an API key's binding).
 * ValidateRequest checks the rest the same way whatever the route.
 */
export interface WireRequest {
  model: string;
  system?: SystemBlock[] | undefined;
  messages: ChatMessage[];
  toolConfig?: ToolConfig | undefined;
  parameters: WireParameters;
  tags: {
    applicationId?: string | undefined;
    costCenter?: string | undefined;
    environment?: string | undefined;
  };
  /** Other request metadata the client sent for Bedrock's invocation logs. */
  metadata?: Record<string, string> | undefined;
}

/** An error as one wire format answers it: status, headers and body. */
export interface WireError {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * What the last step answers on the drop-in routes, and what the failure handler fails with: the
 * body as the client's wire wants it, as text, and the values of the headers the response
 * template sets. Plain names, so the template reads them as properties.
 */
export interface WireEnvelope {
  status?: number;
  body: string;
  errorType?: string;
  retryAfter?: string;
  retryAfterMs?: string;
  shouldRetry?: string;
  costUsd?: string;
  /** `hit` when the answer came from the response cache. */
  cache?: string;
  remainingUsd?: string;
}

/** The headers an envelope's fields stand for, in the order the response template sets them. */
export const ENVELOPE_HEADERS = {
  errorType: 'x-amzn-ErrorType',
  retryAfter: 'Retry-After',
  retryAfterMs: 'retry-after-ms',
  shouldRetry: 'x-should-retry',
  costUsd: 'x-cost-sentry-cost-usd',
  cache: 'x-cost-sentry-cache',
  remainingUsd: 'x-cost-sentry-budget-remaining-usd',
} as const satisfies Record<Exclude<keyof WireEnvelope, 'status' | 'body'>, string>;

/** An error as an envelope: its status, its body as text, and its headers as fields. */
export function envelopeOf(error: WireError): WireEnvelope {
  const envelope: WireEnvelope = { status: error.status, body: JSON.stringify(error.body) };
  for (const [field, header] of Object.entries(ENVELOPE_HEADERS) as Array<
    [keyof typeof ENVELOPE_HEADERS, string]
  >) {
    const value = Object.entries(error.headers).find(
      ([name]) => name.toLowerCase() === header.toLowerCase(),
    )?.[1];
    if (value !== undefined) envelope[field] = value;
  }
  return envelope;
}
