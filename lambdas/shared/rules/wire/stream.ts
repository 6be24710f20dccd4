import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import type { ContentBlock } from '../content.ts';
import type { Usage } from '../pricing.ts';
import type { ConverseAnswer } from './converse.ts';
import { finishReasonOf, openAiUsage } from './openai-answer.ts';
import type { WireError } from './request.ts';

/**
 * The streaming translators out: ConverseStream's events, as Bedrock sends them, encoded for the
 * client's wire. The Converse event stream (`application/vnd.amazon.eventstream`) passes them on
 * as binary frames; Chat Completions turns them into Server-Sent Events of
 * `chat.completion.chunk` objects. Both are pure: the streaming Lambda writes what they return.
 */

/** One ConverseStream event, in the JSON shape of its union member (the SDK's, without bytes). */
export type ConverseStreamEvent =
  | { messageStart: { role: 'assistant' } }
  | {
      contentBlockStart: {
        contentBlockIndex: number;
        start: { toolUse: { toolUseId: string; name: string } };
      };
    }
  | {
      contentBlockDelta: {
        contentBlockIndex: number;
        delta: { text: string } | { toolUse: { input: string } };
      };
    }
  | { contentBlockStop: { contentBlockIndex: number } }
  | { messageStop: { stopReason: string } }
  | { metadata: { usage: Usage; metrics: { latencyMs: number } } };

/** Folds a stream's events into the answer they make: its blocks, stop reason and usage. */
export class StreamAnswer {
  readonly #blocks = new Map<
    number,
    { text?: string; toolUse?: { toolUseId: string; name: string; input: string } }
  >();
  stopReason = 'end_turn';
  usage: Usage | undefined;

  add(event: ConverseStreamEvent): void {
    if ('contentBlockStart' in event) {
      const { contentBlockIndex, start } = event.contentBlockStart;
      this.#blocks.set(contentBlockIndex, { toolUse: { ...start.toolUse, input: '' } });
    } else if ('contentBlockDelta' in event) {
      const { contentBlockIndex, delta } = event.contentBlockDelta;
      const block = this.#blocks.get(contentBlockIndex) ?? {};
      if ('text' in delta) block.text = (block.text ?? '') + delta.text;
      else if (block.toolUse) block.toolUse.input += delta.toolUse.input;
      this.#blocks.set(contentBlockIndex, block);
    } else if ('messageStop' in event) {
      this.stopReason = event.messageStop.stopReason;
    } else if ('metadata' in event) {
      this.usage = event.metadata.usage;
    }
  }

  /** The answer's blocks, in Converse's JSON shape (a tool use's input parsed). */
  content(): ContentBlock[] {
    return [...this.#blocks.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, block]): ContentBlock => {
        if (!block.toolUse) return { text: block.text ?? '' };
        let input: unknown = {};
        try {
          input = JSON.parse(block.toolUse.input || '{}');
        } catch {
          input = {};
        }
        return {
          toolUse: { toolUseId: block.toolUse.toolUseId, name: block.toolUse.name, input: input as never },
        };
      });
  }
}

/** The events that replay a finished Converse answer (an Idempotency-Key's stored answer). */
export function eventsOfAnswer(answer: ConverseAnswer): ConverseStreamEvent[] {
  const events: ConverseStreamEvent[] = [{ messageStart: { role: 'assistant' } }];
  (answer.output.message.content as ContentBlock[]).forEach((block, contentBlockIndex) => {
    if ('toolUse' in block) {
      const { toolUseId, name, input } = block.toolUse;
      events.push({ contentBlockStart: { contentBlockIndex, start: { toolUse: { toolUseId, name } } } });
      events.push({
        contentBlockDelta: { contentBlockIndex, delta: { toolUse: { input: JSON.stringify(input) } } },
      });
    } else if ('text' in block) {
      events.push({ contentBlockDelta: { contentBlockIndex, delta: { text: block.text } } });
    } else return;
    events.push({ contentBlockStop: { contentBlockIndex } });
  });
  events.push({ messageStop: { stopReason: answer.stopReason } });
  events.push({ metadata: { usage: answer.usage, metrics: answer.metrics } });
  return events;
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const header = (value: string) => ({ type: 'string' as const, value });

/** The media type of the Converse event stream. */
export const EVENT_STREAM_MEDIA_TYPE = 'application/vnd.amazon.eventstream';

/** One event as an eventstream frame: `:event-type` is the union member's name. */
export function encodeConverseEvent(event: ConverseStreamEvent): Uint8Array {
  const [eventType, payload] = Object.entries(event)[0] as [string, unknown];
  return codec.encode({
    headers: {
      ':message-type': header('event'),
      ':event-type': header(eventType),
      ':content-type': header('application/json'),
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

/** The exceptions ConverseStream's union has, by Bedrock's exception name. */
const STREAM_EXCEPTIONS: Record<string, string> = {
  InternalServerException: 'internalServerException',
  ModelStreamErrorException: 'modelStreamErrorException',
  ValidationException: 'validationException',
  ThrottlingException: 'throttlingException',
  ServiceUnavailableException: 'serviceUnavailableException',
};

/**
 * An error once the stream has begun, as an exception frame: `:exception-type` is the union
 * member's lowerCamel name (the SDK matches nothing else), from the error's Bedrock shape. A name
 * the union lacks (a model timeout, say) is a modelStreamErrorException.
 */
export function encodeConverseException(error: WireError): Uint8Array {
  const type = error.headers['x-amzn-ErrorType'] ?? 'InternalServerException';
  const body = error.body as { message: string };
  return codec.encode({
    headers: {
      ':message-type': header('exception'),
      ':exception-type': header(STREAM_EXCEPTIONS[type] ?? 'modelStreamErrorException'),
      ':content-type': header('application/json'),
    },
    body: fromUtf8(JSON.stringify({ message: body.message })),
  });
}

/** One Server-Sent Event carrying JSON. */
const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

/** The end of an OpenAI stream. */
export const SSE_DONE = 'data: [DONE]\n\n';

/**
 * ConverseStream's events as Chat Completions chunks: a role chunk first, text and tool-call
 * deltas (tool calls indexed apart from text, as OpenAI counts them), a finish chunk with
 * `delta: {}`; the usage chunk (`choices: []`) comes apart, when the client asked for it.
 */
export class OpenAiChunks {
  readonly #base: { id: string; object: 'chat.completion.chunk'; created: number; model: string };
  readonly #toolIndex = new Map<number, number>();

  constructor(meta: { requestId: string; created: number; model: string }) {
    this.#base = {
      id: `chatcmpl-${meta.requestId}`,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
    };
  }

  #chunk(delta: Record<string, unknown>, finishReason: string | null = null): string {
    return sse({
      ...this.#base,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    });
  }

  /** The SSE text for one event; empty for events OpenAI has no chunk for (the usage comes apart). */
  of(event: ConverseStreamEvent): string {
    if ('messageStart' in event) return this.#chunk({ role: 'assistant', content: '' });
    if ('contentBlockStart' in event) {
      const { contentBlockIndex, start } = event.contentBlockStart;
      const index = this.#toolIndex.size;
      this.#toolIndex.set(contentBlockIndex, index);
      return this.#chunk({
        tool_calls: [
          {
            index,
            id: start.toolUse.toolUseId,
            type: 'function',
            function: { name: start.toolUse.name, arguments: '' },
          },
        ],
      });
    }
    if ('contentBlockDelta' in event) {
      const { contentBlockIndex, delta } = event.contentBlockDelta;
      if ('text' in delta) return delta.text === '' ? '' : this.#chunk({ content: delta.text });
      const index = this.#toolIndex.get(contentBlockIndex) ?? 0;
      return this.#chunk({ tool_calls: [{ index, function: { arguments: delta.toolUse.input } }] });
    }
    if ('messageStop' in event) return this.#chunk({}, finishReasonOf(event.messageStop.stopReason));
    return '';
  }

  /** The usage chunk of `stream_options.include_usage`, with the sentry's `cost_sentry` extension. */
  usage(usage: Usage, extension: Record<string, unknown>): string {
    return sse({ ...this.#base, choices: [], usage: openAiUsage(usage), cost_sentry: extension });
  }
}

/** An error once the stream has begun: the `openai` package throws it as an APIError. */
export function openAiStreamError(error: WireError): string {
  return sse(error.body);
}
