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
