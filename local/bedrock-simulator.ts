import { createHash } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

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

/** Output tokens of a reply when no directive says otherwise (capped by max_tokens). */
export const DEFAULT_OUTPUT_TOKENS = 32;

export interface Directives {
  outputTokens?: number;
  latencyMs?: number;
  error?: string;
  /** Fail only the first N attempts of this call. */
  times?: number;
}

const DIRECTIVE = /\[\[sim:([^\]]*)\]\]/g;

/** Read `[[sim:key=value;key=value]]` directives from a message text. */
export function parseDirectives(text: string): Directives {
  const directives: Directives = {};
  for (const match of text.matchAll(DIRECTIVE)) {
    for (const pair of (match[1] ?? '').split(';')) {
      const [key = '', value = ''] = pair.split('=').map((s) => s.trim());
      if (key === 'output_tokens') directives.outputTokens = Math.max(0, Number.parseInt(value, 10) || 0);
      if (key === 'latency_ms') directives.latencyMs = Math.max(0, Number.parseInt(value, 10) || 0);
      if (key === 'error' && /^[A-Za-z]+$/.test(value)) directives.error = value;
      if (key === 'times') directives.times = Math.max(0, Number.parseInt(value, 10) || 0);
    }
  }
  return directives;
}

interface ConverseBody {
  system?: Array<{ text?: string }>;
  messages?: Array<{ role?: string; content?: Array<{ text?: string }> }>;
  inferenceConfig?: { maxTokens?: number };
}

const utf8Length = (text: string) => Buffer.byteLength(text, 'utf8');

/** Simulated usage: inputTokens = ceil(UTF-8 bytes / 4) of all the text in the request. */
export function simulatedInputTokens(body: ConverseBody): number {
  const texts = [
    ...(body.system ?? []).map((b) => b.text ?? ''),
    ...(body.messages ?? []).flatMap((m) => (m.content ?? []).map((b) => b.text ?? '')),
  ];
  return Math.ceil(texts.reduce((sum, t) => sum + utf8Length(t), 0) / 4);
}

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
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });

  server.on('stream', (stream, headers) => {
    const path = String(headers[':path'] ?? '');
    const match = /^\/model\/([^/]+)\/converse$/.exec(path);
    if (headers[':method'] !== 'POST' || !match) {
      respond(
        stream,
        404,
        { message: 'simulator: only POST /model/{modelId}/converse' },
        'ResourceNotFoundException',
      );
      return;
    }
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
        const inputTokens = simulatedInputTokens(body);
        respond(stream, 200, {
          output: {
            message: { role: 'assistant', content: [{ text: 'sim '.repeat(outputTokens).trimEnd() }] },
          },
          stopReason: wanted > maxTokens ? 'max_tokens' : 'end_turn',
          usage: {
            inputTokens,
            outputTokens,
            totalTokens: inputTokens + outputTokens,
            cacheReadInputTokens: 0,
            cacheWriteInputTokens: 0,
          },
          metrics: { latencyMs: directives.latencyMs ?? 0 },
        });
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
