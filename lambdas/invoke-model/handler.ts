import type { Invocation, WorkflowState } from '../shared/rules/types.ts';
import { bedrockTimeoutMsFromEnv } from '../shared/wiring/env.ts';
import { BedrockInvoker } from './bedrock-client.ts';
import { invokeModel } from './core.ts';

const clientTimeoutMs = bedrockTimeoutMsFromEnv();
const deps = { invoker: new BedrockInvoker(clientTimeoutMs), now: () => Date.now(), clientTimeoutMs };

/** InvokeModel: one Converse call for the validated, reserved request. */
export const handler = async (event: WorkflowState): Promise<Invocation> => invokeModel(event, deps);
