import type { ExecutionInput, ValidatedRequest } from '../shared/rules/types.ts';
import { ENVELOPE_HEADERS, type WireEnvelope, type WireError } from '../shared/rules/wire/request.ts';
import {
  type ConverseStreamEvent,
  EVENT_STREAM_MEDIA_TYPE,
  encodeConverseEvent,
  encodeConverseException,
  OpenAiChunks,
  openAiStreamError,
  SSE_DONE,
} from '../shared/rules/wire/stream.ts';

/** The two wires that stream, each a translator out around the same events. */
export interface StreamWire {
  mediaType: string;
  event(event: ConverseStreamEvent): Uint8Array | string;
  /** What ends a stream that settled. */
  tail(
    metadata: ConverseStreamEvent,
    extension: Record<string, unknown> | undefined,
  ): Array<Uint8Array | string>;
  error(error: WireError): Uint8Array | string;
}

export function wireOf(input: ExecutionInput, request: ValidatedRequest | undefined): StreamWire {
  if (input.route !== 'openai') {
    return {
      mediaType: EVENT_STREAM_MEDIA_TYPE,
      event: encodeConverseEvent,
      tail: (metadata) => [encodeConverseEvent(metadata)],
      error: encodeConverseException,
    };
  }
  const chunks = new OpenAiChunks({
    requestId: input.requestId,
    created: Math.floor(input.receivedAt / 1000),
    model: request?.model.alias ?? '',
  });
  const includeUsage = includeUsageOf(input.body);
  return {
    mediaType: 'text/event-stream; charset=utf-8',
    event: (event) => chunks.of(event),
    tail: (metadata, extension) => [
      ...(includeUsage && 'metadata' in metadata
        ? [chunks.usage(metadata.metadata.usage, extension ?? {})]
        : []),
      SSE_DONE,
    ],
    error: openAiStreamError,
  };
}

function includeUsageOf(body: string | undefined): boolean {
  try {
    return (
      (JSON.parse(body ?? '{}') as { stream_options?: { include_usage?: unknown } }).stream_options
        ?.include_usage === true
    );
  } catch {
    return false;
  }
}

/** An envelope's headers, by their HTTP names. */
export function envelopeHeaders(envelope: WireEnvelope): Record<string, string> {
  return Object.fromEntries(
    (Object.entries(ENVELOPE_HEADERS) as Array<[keyof typeof ENVELOPE_HEADERS, string]>).flatMap(
      ([field, name]) => (envelope[field] === undefined ? [] : [[name, envelope[field] as string]]),
    ),
  );
}

/** The envelope's error in WireError form, for the stream's exception encoders. */
export function wireErrorOf(envelope: WireEnvelope): WireError {
  return {
    status: envelope.status ?? 500,
    headers: envelopeHeaders(envelope),
    body: JSON.parse(envelope.body),
  };
}
