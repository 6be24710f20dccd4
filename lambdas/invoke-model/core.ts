import type { ResolvedModel } from '../shared/rules/catalog.ts';
import type { ContentBlock, SystemBlock, ToolConfig } from '../shared/rules/content.ts';
import { attemptTimeoutMs, MIN_MODEL_CALL_MS } from '../shared/rules/deadline.ts';
import { DeadlineExceededError } from '../shared/rules/errors.ts';
import type { Usage } from '../shared/rules/pricing.ts';
import type { InferenceParameters, Invocation, Message, Tags, WorkflowState } from '../shared/rules/types.ts';

/** A Converse call in our terms. */
export interface ConverseInput {
  model: ResolvedModel;
  system?: SystemBlock[] | undefined;
  messages: Message[];
  toolConfig?: ToolConfig | undefined;
  parameters: InferenceParameters;
  /** Tags and request ID (and the client's own entries), sent as Bedrock requestMetadata so invocation logs join the audit log. */
  metadata: Tags & { requestId: string } & Record<string, string>;
  /** How long this attempt may take. */
  timeoutMs: number;
}

export interface ConverseResult {
  /** The answer's text and tool-use blocks, in Converse's JSON shape. */
  content: ContentBlock[];
  stopReason: string;
  usage: Usage;
}

/** Calls a model. Adapters translate upstream failures into our errors. */
export interface ModelInvoker {
  converse(input: ConverseInput): Promise<ConverseResult>;
}

export interface InvokeDeps {
  invoker: ModelInvoker;
  now: () => number;
  /** The Bedrock client's own timeout for one attempt. */
  clientTimeoutMs: number;
}

/**
 * Call the model once (the state machine owns retries) and time it. Each attempt gets only the
 * time the execution's deadline leaves; with too little left, the model is not called at all.
 */
export async function invokeModel(state: WorkflowState, deps: InvokeDeps): Promise<Invocation> {
  const started = deps.now();
  const timeoutMs = attemptTimeoutMs(state.receivedAt, started, deps.clientTimeoutMs);
  if (timeoutMs < MIN_MODEL_CALL_MS) throw new DeadlineExceededError();
  const result = await deps.invoker.converse({
    timeoutMs,
    model: state.model,
    system: state.prompt.system,
    messages: state.prompt.messages,
    toolConfig: state.prompt.toolConfig,
    parameters: state.prompt.parameters,
    metadata: { ...state.metadata, ...state.tags, requestId: state.requestId },
  });
  return {
    output: { role: 'assistant', content: result.content },
    stopReason: result.stopReason,
    usage: result.usage,
    latencyMs: deps.now() - started,
  };
}
