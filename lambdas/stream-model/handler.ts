import type { Writable } from 'node:stream';
import { BedrockInvoker } from '../invoke-model/bedrock-client.ts';
import { reserveOrAnswerFromCache } from '../reserve-budget/core.ts';
import type { ExecutionInput } from '../shared/rules/types.ts';
import { catalogFromEnv, ENV, openCallersFromEnv, profilesFromEnv } from '../shared/wiring/env.ts';
import { finishRequest } from '../shared/wiring/finish-request.ts';
import { logger } from '../shared/wiring/powertools.ts';
import { settlementDepsFromEnv } from '../shared/wiring/settlement-deps.ts';
import { STREAM_DEADLINE_MS, type StreamDeps, type StreamSink, streamRequest } from './core.ts';
import {
  answerOfExecution,
  executionInputOf,
  type HttpAnswer,
  mediaTypeRefusal,
  type StreamProxyEvent,
  type SyncExecution,
  wantsStream,
} from './proxy.ts';
import { SyncWorkflow } from './sync-execution.ts';

const settlement = settlementDepsFromEnv();
const reserveDeps = {
  store: settlement.store,
  catalog: catalogFromEnv(),
  profiles: profilesFromEnv(),
  now: Date.now,
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};
const deps: StreamDeps = {
  reserve: (request) => reserveOrAnswerFromCache(request, reserveDeps),
  catalog: catalogFromEnv(),
  options: { openCallers: openCallersFromEnv(), profiles: profilesFromEnv() },
  store: settlement.store,
  idempotency: settlement.idempotency,
  invoker: new BedrockInvoker(STREAM_DEADLINE_MS),
  now: settlement.now,
  onError: settlement.onError,
  finish: async (end) => {
    if (end.record?.decision === 'failed') {
      // As HandleFailure logs it: the code only, never an upstream message.
      logger.warn('request failed', { requestId: end.requestId, error: end.record.errorCode });
    }
    await finishRequest(settlement, end);
  },
};

/** Starts the workflow for what does not stream (StartSyncExecution on AWS, the local runner locally). */
export interface Workflow {
  run(input: ExecutionInput): Promise<SyncExecution>;
}

function answer(sink: StreamSink, response: HttpAnswer): void {
  sink.open(response.status, response.headers);
  sink.write(response.body);
  sink.end();
}

/**
 * The streaming Lambda, behind API Gateway's response streaming: POST
 * /model/{modelId}/converse-stream, and POST /v1/chat/completions, whose requests that do not
 * stream run the workflow as every other route does.
 */
export async function serve(event: StreamProxyEvent, sink: StreamSink, workflow: Workflow): Promise<void> {
  const input = executionInputOf(event, deps.catalog.limits.maxBodyBytes);
  const refusal = mediaTypeRefusal(event, input);
  if (refusal) return answer(sink, refusal);
  if (wantsStream(input)) return streamRequest(input, deps, sink);
  let result: SyncExecution;
  try {
    result = await workflow.run(input);
  } catch {
    // What API Gateway answers when Step Functions refuses the call.
    result = { status: 'FAILED', error: 'States.Runtime' };
  }
  answer(
    sink,
    answerOfExecution(input.route === 'converse' ? 'converse' : 'openai', result, input.requestId),
  );
}

/** The Lambda runtime's globals for response streaming (Node.js managed runtimes inject them). */
interface LambdaStreaming {
  streamifyResponse(
    handler: (event: StreamProxyEvent, responseStream: Writable) => Promise<void>,
  ): (event: StreamProxyEvent, responseStream: Writable) => Promise<void>;
  HttpResponseStream: {
    from(stream: Writable, prelude: { statusCode: number; headers: Record<string, string> }): Writable;
  };
}

/** The Lambda's response stream as a sink: the status and headers go in the prelude of the first write. */
function lambdaSink(runtime: LambdaStreaming, responseStream: Writable): StreamSink {
  let out: Writable | undefined;
  let connected = true;
  responseStream.on('error', () => {
    connected = false;
  });
  responseStream.on('close', () => {
    connected = false;
  });
  return {
    get connected() {
      return connected;
    },
    open(status, headers) {
      out = runtime.HttpResponseStream.from(responseStream, { statusCode: status, headers });
    },
    write(chunk) {
      if (!connected || !out) return;
      try {
        out.write(chunk);
      } catch {
        connected = false;
      }
    },
    end() {
      if (out && !out.writableEnded) out.end();
    },
  };
}

let workflow: SyncWorkflow | undefined;
// Other libraries put their own things on `awslambda` outside Lambda too (its InvokeStore).
const global = (globalThis as { awslambda?: Partial<LambdaStreaming> }).awslambda;
const runtime = typeof global?.streamifyResponse === 'function' ? (global as LambdaStreaming) : undefined;

/** The Lambda entry point (absent outside Lambda: the local gateway calls {@link serve}). */
export const handler = runtime?.streamifyResponse(async (event, responseStream) => {
  workflow ??= new SyncWorkflow(process.env[ENV.stateMachineArn] ?? '');
  await serve(event, lambdaSink(runtime, responseStream), workflow);
});
