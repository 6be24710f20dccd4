import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  type ConverseStreamEvent,
  EVENT_STREAM_MEDIA_TYPE,
  encodeConverseEvent,
  encodeConverseException,
} from '../lambdas/shared/rules/wire/stream.ts';
import {
  type ConverseBody,
  DEFAULT_OUTPUT_TOKENS,
  type Directives,
  parseDirectives,
  simulatedUsage,
} from './simulator-rules.ts';

/** Status codes Bedrock answers its exceptions with. Any other name is answered with 400. */
const ERROR_STATUS: Record<string, number> = {
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};

export interface SimulatorStats {
  /** Converse calls received, failed ones included. */
  calls: number;
  errors: number;
}

export interface BedrockSimulator {
  endpoint: string;
  stats: SimulatorStats;
  close(): Promise<void>;
}

const MAX_TRACKED_CALLS = 10_000;

/**
 * A Bedrock Runtime stand-in speaking the Converse wire protocol (restJson1) over cleartext
 * HTTP/2 on loopback, as the SDK's HTTP/2 client expects. Signatures are not checked.
 */
export async function startBedrockSimulator(
  options: {
    port?: number;
    /**
     * The model IDs it serves, as Bedrock serves only models that exist and are not retired:
     * any other answers ResourceNotFoundException. @default every model ID
     */
    models?: ReadonlySet<string>;
  } = {},
): Promise<BedrockSimulator> {
  const stats: SimulatorStats = { calls: 0, errors: 0 };
  const attempts = new Map<string, number>();
  // Cache prefixes seen, as Bedrock's prompt cache would hold them (no expiry here).
  const prefixes = new Set<string>();
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });

  server.on('stream', (stream, headers) => {
    const path = String(headers[':path'] ?? '');
    const match = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(path);
    if (headers[':method'] !== 'POST' || !match) {
      respond(
        stream,
        404,
        { message: 'simulator: only POST /model/{modelId}/converse and /converse-stream' },
        'ResourceNotFoundException',
      );
      return;
    }
    const streaming = match[2] === 'converse-stream';
    const modelId = decodeURIComponent(match[1] ?? '');
    if (options.models && !options.models.has(modelId)) {
      respond(
        stream,
        404,
        { message: `simulator: no model ${modelId} (not in the catalog, or retired)` },
        'ResourceNotFoundException',
      );
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      stats.calls++;
      const raw = Buffer.concat(chunks);
      let body: ConverseBody;
      try {
        body = JSON.parse(raw.toString('utf8')) as ConverseBody;
      } catch {
        stats.errors++;
        respond(stream, 400, { message: 'simulator: body is not JSON' }, 'ValidationException');
        return;
      }
      const lastUser = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
      const directives = parseDirectives((lastUser?.content ?? []).map((b) => b.text ?? '').join('\n'));
      const answer = () => {
        if (stream.destroyed) return;
        if (directives.error) {
          const key = createHash('sha256').update(modelId).update(raw).digest('hex');
          const attempt = (attempts.get(key) ?? 0) + 1;
          attempts.set(key, attempt);
          if (attempts.size > MAX_TRACKED_CALLS) attempts.delete(attempts.keys().next().value as string);
          if (directives.times === undefined || attempt <= directives.times) {
            stats.errors++;
            respond(
              stream,
              ERROR_STATUS[directives.error] ?? 400,
              { message: `simulated ${directives.error}` },
              directives.error,
            );
            return;
          }
        }
        const maxTokens = body.inferenceConfig?.maxTokens ?? 4096;
        const wanted = directives.outputTokens ?? DEFAULT_OUTPUT_TOKENS;
        const outputTokens = Math.min(maxTokens, wanted);
        const usage = simulatedUsage(body, prefixes);
        const toolUse = directives.toolUse
          ? {
              toolUseId: `tooluse_${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`,
              name: directives.toolUse,
              input: {},
            }
          : undefined;
        const answer = {
          output: {
            message: {
              role: 'assistant',
              content: toolUse ? [{ toolUse }] : [{ text: 'sim '.repeat(outputTokens).trimEnd() }],
            },
          },
          stopReason: toolUse ? 'tool_use' : wanted > maxTokens ? 'max_tokens' : 'end_turn',
          usage: {
            ...usage,
            outputTokens,
            totalTokens:
              usage.inputTokens + usage.cacheReadInputTokens + usage.cacheWriteInputTokens + outputTokens,
          },
          metrics: { latencyMs: directives.latencyMs ?? 0 },
        };
        if (streaming) {
          streamAnswer(
            stream as http2.ServerHttp2Stream,
            answer,
            directives,
            outputTokens,
            () => stats.errors++,
          );
          return;
        }
        respond(stream, 200, answer);
      };
      if (directives.latencyMs) setTimeout(answer, directives.latencyMs);
      else answer();
    });
  });
  // A client that gave up (a timeout) resets its stream; that is not a simulator failure.
  server.on('sessionError', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open sessions would keep close() waiting; the SDK keeps its HTTP/2 sessions alive.
        for (const session of sessions) session.destroy();
      }),
  };
}

function respond(
  stream: http2.ServerHttp2Stream | http2.Http2Stream,
  status: number,
  body: unknown,
  errorType?: string,
): void {
  if (stream.destroyed) return;
  (stream as http2.ServerHttp2Stream).respond({
    ':status': status,
    'content-type': 'application/json',
    'x-amzn-requestid': crypto.randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  stream.end(JSON.stringify(body));
}

/**
 * ConverseStream's answer as Bedrock streams it: messageStart, one delta a token (`sim`, then
 * ` sim`), messageStop and the metadata with the usage; a tool use as its start, one input delta
 * and its stop. `stream_error` fails the stream with an exception frame after `after` deltas.
 */
function streamAnswer(
  stream: http2.ServerHttp2Stream,
  answer: {
    output: { message: { content: Array<{ text?: string; toolUse?: { toolUseId: string; name: string } }> } };
    stopReason: string;
    usage: Record<string, number>;
    metrics: { latencyMs: number };
  },
  directives: Directives,
  outputTokens: number,
  onError: () => void,
): void {
  if (stream.destroyed) return;
  stream.respond({
    ':status': 200,
    'content-type': EVENT_STREAM_MEDIA_TYPE,
    'x-amzn-requestid': crypto.randomUUID(),
  });
  const events: ConverseStreamEvent[] = [];
  const toolUse = answer.output.message.content[0]?.toolUse;
  if (toolUse) {
    events.push({ contentBlockStart: { contentBlockIndex: 0, start: { toolUse } } });
    events.push({ contentBlockDelta: { contentBlockIndex: 0, delta: { toolUse: { input: '{}' } } } });
  } else {
    for (let i = 0; i < outputTokens; i++) {
      events.push({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: i === 0 ? 'sim' : ' sim' } } });
    }
  }
  const deltas = events.length;
  events.push({ contentBlockStop: { contentBlockIndex: 0 } });
  events.push({ messageStop: { stopReason: answer.stopReason } });
  events.push({ metadata: { usage: answer.usage as never, metrics: answer.metrics } });
  stream.write(encodeConverseEvent({ messageStart: { role: 'assistant' } }));
  let sent = 0;
  const next = () => {
    if (stream.destroyed) return;
    if (directives.streamError && sent === Math.min(directives.after ?? 0, deltas)) {
      onError();
      stream.end(
        encodeConverseException({
          status: ERROR_STATUS[directives.streamError] ?? 400,
          headers: { 'x-amzn-ErrorType': directives.streamError },
          body: { message: `simulated ${directives.streamError}` },
        }),
      );
      return;
    }
    const event = events[sent++];
    if (!event) {
      stream.end();
      return;
    }
    stream.write(encodeConverseEvent(event));
    if (directives.tokenMs && sent < deltas) setTimeout(next, directives.tokenMs);
    else next();
  };
  next();
}
