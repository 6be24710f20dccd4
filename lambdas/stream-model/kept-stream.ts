import { answerFromCache, CACHE_HIT_USAGE } from '../settle-usage/cache-hit.ts';
import type { CacheHit } from '../shared/rules/response-cache.ts';
import type { ExecutionInput, ValidatedRequest } from '../shared/rules/types.ts';
import { type ConverseAnswer, toConverse } from '../shared/rules/wire/converse.ts';
import type { WireEnvelope } from '../shared/rules/wire/request.ts';
import { type ConverseStreamEvent, eventsOfAnswer } from '../shared/rules/wire/stream.ts';
import type { StreamDeps, StreamSink } from './ports.ts';
import { envelopeHeaders, wireOf } from './stream-wire.ts';

/** The streams that need no Bedrock call: an Idempotency-Key's replay, and a response cache hit. */

/** What a streamed answer keeps under its Idempotency-Key, to replay as a stream. */
export interface KeptStream {
  /** The first request's ID and arrival, which its replays show. */
  requestId: string;
  receivedAt: number;
  answer: ConverseAnswer;
  extension?: Record<string, unknown>;
  /** The headers the first answer carried beyond its type (a cache hit's cost and marker). */
  headers?: Record<string, string>;
}

/** An Idempotency-Key's first answer again: its error, or its stream, without calling Bedrock. */
export function replay(
  body: string,
  errorCode: string | null,
  input: ExecutionInput,
  request: ValidatedRequest,
  sink: StreamSink,
): void {
  if (errorCode !== null) {
    const envelope = JSON.parse(body) as WireEnvelope;
    sink.open(envelope.status ?? 500, {
      'content-type': 'application/json',
      'x-request-id': input.requestId,
      ...envelopeHeaders(envelope),
    });
    sink.write(envelope.body);
    sink.end();
    return;
  }
  const kept = JSON.parse(body) as KeptStream;
  streamKept(kept, input, request, sink, kept.headers ?? {});
}

/** A whole answer as the route's stream, from its first event to its tail. */
function streamKept(
  kept: KeptStream,
  input: ExecutionInput,
  request: ValidatedRequest,
  sink: StreamSink,
  headers: Record<string, string>,
): void {
  // The frames are the first answer's (its request ID included); the header names this request, as
  // a replay's does on every route.
  const wire = wireOf({ ...input, requestId: kept.requestId, receivedAt: kept.receivedAt }, request);
  sink.open(200, {
    'content-type': wire.mediaType,
    'cache-control': 'no-cache',
    'x-request-id': input.requestId,
    ...headers,
  });
  const events = eventsOfAnswer(kept.answer);
  const metadata = events.pop() as ConverseStreamEvent;
  for (const event of events) {
    const frame = wire.event(event);
    if (frame.length > 0) sink.write(frame);
  }
  for (const frame of wire.tail(metadata, kept.extension)) sink.write(frame);
  sink.end();
}

/**
 * A response cache hit, streamed: charged nothing and counted as the workflow counts a hit
 * (`answerFromCache`), kept under its Idempotency-Key, then the stored answer as the route's
 * stream, with `x-cost-sentry-cache: hit` and the other headers the route's answer carries.
 */
export async function streamFromCache(
  request: ValidatedRequest & { cacheHit: CacheHit },
  input: ExecutionInput,
  deps: StreamDeps,
  sink: StreamSink,
): Promise<void> {
  const { response, record } = await answerFromCache(request, deps);
  const envelope = response as WireEnvelope;
  const { answer } = request.cacheHit;
  const headers = envelopeHeaders(envelope);
  const kept: KeptStream = {
    headers,
    requestId: request.requestId,
    receivedAt: request.receivedAt,
    answer: toConverse({ ...answer, content: answer.content, usage: CACHE_HIT_USAGE, latencyMs: 0 }),
    ...(input.route === 'openai'
      ? { extension: (JSON.parse(envelope.body) as { cost_sentry?: Record<string, unknown> }).cost_sentry }
      : {}),
  };
  await deps.finish({
    requestId: request.requestId,
    callerId: request.callerId,
    idempotency: request.idempotency,
    record,
    alerts: [],
    keep: { body: JSON.stringify(kept) },
  });
  streamKept(kept, input, request, sink, headers);
}
