import { claimIdempotencyKey } from '../claim-idempotency-key/core.ts';
import { type FailedState, handleFailure } from '../handle-failure/core.ts';
import { settleUsage } from '../settle-usage/core.ts';
import { MIN_MODEL_CALL_MS } from '../shared/rules/deadline.ts';
import {
  DeadlineExceededError,
  ModelAnswerUnreadableError,
  ModelTimeoutError,
} from '../shared/rules/errors.ts';
import type { ExecutionInput, Reservation, ValidatedRequest } from '../shared/rules/types.ts';
import { toConverse } from '../shared/rules/wire/converse.ts';
import type { WireEnvelope } from '../shared/rules/wire/request.ts';
import { type ConverseStreamEvent, StreamAnswer } from '../shared/rules/wire/stream.ts';
import { failedRequestEnd } from '../shared/wiring/finish-request.ts';
import { validateRequest } from '../validate-request/core.ts';
import { type KeptStream, replay, streamFromCache } from './kept-stream.ts';
import type { StreamDeps, StreamSink } from './ports.ts';
import { envelopeHeaders, wireErrorOf, wireOf } from './stream-wire.ts';

export type { StreamDeps, StreamingInvoker, StreamSink } from './ports.ts';

/**
 * How long after the gateway received a streaming request Bedrock's stream may run, draining
 * included. Below the sweeper's 120 s (a reservation held longer is closed, charged in full), so
 * a stream always settles its own reservation.
 */
export const STREAM_DEADLINE_MS = 100_000;

/** A thrown error as Step Functions would report it to the failure handler. */
function caught(error: unknown): FailedState['error'] {
  const err = error instanceof Error ? error : new Error(String(error));
  return { Error: err.name, Cause: JSON.stringify({ errorType: err.name, errorMessage: err.message }) };
}

/**
 * A streaming request (POST /model/{modelId}/converse-stream, or `stream: true` on Chat
 * Completions), run in process through the same cores the workflow's steps run: validate, claim
 * the Idempotency-Key, reserve, ConverseStream, then settle, or the failure handler. A refusal
 * before the first byte answers the route's own error, status and headers; once the stream is
 * open, an error is the wire's own mid-stream error. The reservation is settled from the
 * stream's metadata before the last frame is written, and a client that goes away does not stop
 * it: Bedrock's stream is read to its end either way.
 */
export async function streamRequest(
  input: ExecutionInput,
  deps: StreamDeps,
  sink: StreamSink,
): Promise<void> {
  // The state as the failure handler reads it (the caller, for a failure before validation).
  let state = {
    requestId: input.requestId,
    receivedAt: input.receivedAt,
    ...(input.route ? { route: input.route } : {}),
    caller: input.caller,
  } as Omit<FailedState, 'error'>;
  const headers = { 'x-request-id': input.requestId };

  // Before the first byte: every refusal is the route's ordinary error answer.
  const refuse = async (error: unknown) => {
    const envelope = JSON.parse((await fail({ ...state, error: caught(error) }, deps)).body) as WireEnvelope;
    sink.open(envelope.status ?? 500, {
      'content-type': 'application/json',
      ...headers,
      ...envelopeHeaders(envelope),
    });
    sink.write(envelope.body);
    sink.end();
  };

  let request: ValidatedRequest;
  let reservation: Reservation;
  let events: AsyncIterable<ConverseStreamEvent>;
  let started: number;
  try {
    request = validateRequest({ ...input, stream: true }, deps.catalog, deps.options);
    state = request;
    const claim = await claimIdempotencyKey(request, { store: deps.idempotency, now: deps.now });
    if (claim.replay !== null) {
      replay(claim.replay, claim.replayError, input, request, sink);
      return;
    }
    const reserved = await deps.reserve(request);
    if ('cacheHit' in reserved) {
      await streamFromCache(reserved, input, deps, sink);
      return;
    }
    ({ reservation, ...request } = reserved);
    state = { ...request, reservation };
    started = deps.now();
    const timeoutMs = input.receivedAt + STREAM_DEADLINE_MS - started;
    if (timeoutMs < MIN_MODEL_CALL_MS) throw new DeadlineExceededError();
    events = await deps.invoker.converseStream({
      timeoutMs,
      model: request.model,
      system: request.prompt.system,
      messages: request.prompt.messages,
      toolConfig: request.prompt.toolConfig,
      parameters: request.prompt.parameters,
      metadata: { ...request.metadata, ...request.tags, requestId: request.requestId },
    });
  } catch (error) {
    await refuse(error);
    return;
  }

  const wire = wireOf(input, request);
  sink.open(200, { 'content-type': wire.mediaType, 'cache-control': 'no-cache', ...headers });
  const answer = new StreamAnswer();
  let metadata: ConverseStreamEvent | undefined;
  let received = 0;
  try {
    for await (const event of events) {
      received++;
      answer.add(event);
      // The usage goes out only once it is charged.
      if ('metadata' in event) metadata = event;
      else if (sink.connected) {
        const frame = wire.event(event);
        if (frame.length > 0) sink.write(frame);
      }
    }
    // A stream that ends without its usage was answered, and may have been billed.
    if (!metadata || !answer.usage) throw new ModelAnswerUnreadableError();
  } catch (error) {
    // Settled by the failure handler's rules, as a failed InvokeModel would be; except that once
    // Bedrock has begun to answer, it may have billed the tokens: the whole reservation is charged,
    // as MODEL_TIMEOUT when the deadline cut the stream, else as an answer that could not be read.
    const deadline = cutByDeadline(error) || deps.now() >= input.receivedAt + STREAM_DEADLINE_MS;
    const midway = deadline
      ? new ModelTimeoutError({ cause: error })
      : received > 0
        ? new ModelAnswerUnreadableError({ cause: error })
        : error;
    const failure = await fail({ ...state, error: caught(midway) }, deps);
    if (sink.connected) sink.write(wire.error(wireErrorOf(JSON.parse(failure.body) as WireEnvelope)));
    sink.end();
    return;
  }

  const invocation = {
    output: { role: 'assistant' as const, content: answer.content() },
    stopReason: answer.stopReason,
    usage: answer.usage,
    latencyMs: deps.now() - started,
  };
  let extension: Record<string, unknown> | undefined;
  try {
    const result = await settleUsage({ ...request, reservation, invocation }, deps);
    extension =
      input.route === 'openai'
        ? (JSON.parse((result.response as WireEnvelope).body) as { cost_sentry?: Record<string, unknown> })
            .cost_sentry
        : undefined;
    const kept: KeptStream = {
      requestId: request.requestId,
      receivedAt: request.receivedAt,
      answer: toConverse({ ...invocation, content: invocation.output.content }),
      ...(extension ? { extension } : {}),
    };
    await deps.finish({
      requestId: request.requestId,
      callerId: request.callerId,
      idempotency: request.idempotency,
      record: result.settled ? result.record : undefined,
      alerts: result.alerts,
      keep: { body: JSON.stringify(kept) },
    });
  } catch (error) {
    const failure = await fail({ ...state, invocation, error: caught(error) }, deps);
    if (sink.connected) sink.write(wire.error(wireErrorOf(JSON.parse(failure.body) as WireEnvelope)));
    sink.end();
    return;
  }
  if (sink.connected) for (const frame of wire.tail(metadata, extension)) sink.write(frame);
  sink.end();
}

/**
 * Whether the stream's own deadline stopped it: the invoker aborts the call then, and translates
 * the abort into a timeout (an upstream failure it cannot name is a timeout too, but not this).
 */
const cutByDeadline = (error: unknown) =>
  error instanceof ModelTimeoutError && (error.cause as Error | undefined)?.name === 'AbortError';

/** The failure handler, then the same tail as its Lambda's. */
async function fail(state: FailedState, deps: StreamDeps) {
  const result = await handleFailure(state, deps);
  await deps.finish(failedRequestEnd(state, result));
  return result.failure;
}
