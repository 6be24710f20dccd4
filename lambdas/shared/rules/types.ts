import type { CallerIdentity } from './callers.ts';
import type { ResolvedModel } from './catalog.ts';
import type { ChatMessage, ContentBlock, InferenceParameters, SystemBlock, ToolConfig } from './content.ts';
import type { Period } from './period.ts';
import type { Usage } from './pricing.ts';
import type { CacheHit } from './response-cache.ts';
import type { Tags } from './tags.ts';
import type { Route } from './wire/request.ts';

export type { Tags };

/** A message of the conversation, in Converse blocks whatever the route it came by. */
export type Message = ChatMessage;
export type { InferenceParameters };

/** What the state machine receives from the API (the request mapping template or the local gateway). */
export interface ExecutionInput {
  requestId: string;
  /** Epoch milliseconds when the gateway received the request. */
  receivedAt: number;
  body?: string;
  bodyTooLarge?: boolean;
  /** Who called, as the gateway authenticated them. Tags come only from the body. */
  caller?: CallerIdentity;
  /** The Idempotency-Key header, when the client sent one. */
  idempotencyKey?: string;
  /** The route it came by, when not the seed format's POST /v1/invoke. */
  route?: Route;
  /** The Converse route's model, from its path. */
  modelId?: string;
  /** The request's `Cache-Control` asks to skip the response cache (`no-cache` or `no-store`). */
  noCache?: boolean;
  /** Set by the streaming Lambda only: the answer streams (Chat Completions then takes `stream: true`). */
  stream?: boolean;
}

/** The output of ValidateRequest: everything later steps need, and no raw body. */
export interface ValidatedRequest {
  requestId: string;
  receivedAt: number;
  /** The route it came by (absent for the seed format): how the answer and errors are shaped. */
  route?: Route | undefined;
  model: ResolvedModel;
  prompt: {
    system?: SystemBlock[] | undefined;
    messages: Message[];
    toolConfig?: ToolConfig | undefined;
    parameters: InferenceParameters;
  };
  tags: Tags;
  /** Where the tags came from: the request, or the API key's binding when the request left them out. */
  tagsFrom?: 'binding' | undefined;
  /** Other request metadata for Bedrock's invocation logs. */
  metadata?: Record<string, string> | undefined;
  /** The API key or IAM principal that called, for the audit log; absent in the open local stack. */
  callerId?: string | undefined;
  /** With an Idempotency-Key: the key and a SHA-256 of the body it was sent with. */
  idempotency?: { key: string; bodyHash: string } | undefined;
  /** `Cache-Control: no-cache`: this request neither reads nor fills the response cache. */
  noCache?: true | undefined;
  estimate: {
    inputTokens: number;
    outputTokens: number;
    tokens: number;
    /** pico-USD, as a decimal string (JSON has no bigint). */
    costPico: string;
    priceVersion: string;
  };
}

/** One budget counter a reservation holds, with the budget it was held against. */
export interface ReservedScope {
  scope: 'costCenter' | 'application';
  costCenter: string;
  applicationId?: string | undefined;
  pk: string;
  sk: string;
  period: Period;
  periodKey: string;
  /** pico-USD, as a decimal string. */
  limitPico?: string | undefined;
  limitTokens?: number | undefined;
  alertThresholds: number[];
  /** The shard of a sharded counter this scope's hold is on, and the period's shard count. */
  shard?: number | undefined;
  shards?: number | undefined;
}

/** The output of ReserveBudget. */
export interface Reservation {
  requestId: string;
  scopes: ReservedScope[];
  costPico: string;
  tokens: number;
}

/** The output of InvokeModel. */
export interface Invocation {
  output: { role: 'assistant'; content: ContentBlock[] };
  stopReason: string;
  usage: Usage;
  latencyMs: number;
}

/** The state the workflow carries from step to step. */
export interface WorkflowState extends ValidatedRequest {
  reservation?: Reservation;
  invocation?: Invocation;
  /** ReserveBudget found the answer in the response cache: nothing is reserved, Bedrock is not called. */
  cacheHit?: CacheHit;
}
