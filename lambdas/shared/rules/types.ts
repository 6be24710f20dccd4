import type { CallerIdentity } from './callers.ts';
import type { Tags } from './tags.ts';

export type { Tags };

import type { ResolvedModel } from './catalog.ts';
import type { Period } from './period.ts';
import type { Usage } from './pricing.ts';

export interface Message {
  role: 'user' | 'assistant';
  content: string;
}

export interface InferenceParameters {
  maxTokens: number;
  temperature?: number | undefined;
  topP?: number | undefined;
  topK?: number | undefined;
  stopSequences?: string[] | undefined;
}

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
}

/** The output of ValidateRequest: everything later steps need, and no raw body. */
export interface ValidatedRequest {
  requestId: string;
  receivedAt: number;
  model: ResolvedModel;
  prompt: { system?: string | undefined; messages: Message[]; parameters: InferenceParameters };
  tags: Tags;
  /** The API key or IAM principal that called, for the audit log; absent in the open local stack. */
  callerId?: string | undefined;
  /** With an Idempotency-Key: the key and a SHA-256 of the body it was sent with. */
  idempotency?: { key: string; bodyHash: string } | undefined;
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
  output: { role: 'assistant'; content: string };
  stopReason: string;
  usage: Usage;
  latencyMs: number;
}

/** The state the workflow carries from step to step. */
export interface WorkflowState extends ValidatedRequest {
  reservation?: Reservation;
  invocation?: Invocation;
}
