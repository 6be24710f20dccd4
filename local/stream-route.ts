import type http from 'node:http';
import type http2 from 'node:http2';
import type { StreamSink } from '../lambdas/stream-model/core.ts';
import type { StreamProxyEvent } from '../lambdas/stream-model/proxy.ts';
import type { LocalWorkflow } from './workflow.ts';

type Serve = typeof import('../lambdas/stream-model/handler.ts').serve;
let serve: Serve | undefined;

/** Import the streaming Lambda's module, as its runtime would at a cold start (after the environment is set). */
export async function loadStreamHandler(): Promise<Serve> {
  serve ??= (await import('../lambdas/stream-model/handler.ts')).serve;
  return serve;
}

/** Headers that HTTP/1.1 allows and HTTP/2 forbids. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

/**
 * A node response as the Lambda's response stream: the status and headers once, then each frame
 * as it comes (HTTP/1.1 chunked, or HTTP/2 DATA frames). A client that goes away is noticed, and
 * nothing more is written; the handler still reads Bedrock's stream to its charge.
 */
export function responseSink(
  res: http.ServerResponse | http2.Http2ServerResponse,
  httpVersionMajor: number,
): StreamSink {
  let connected = true;
  res.on('close', () => {
    connected = false;
  });
  const out = res as http.ServerResponse;
  return {
    get connected() {
      return connected && !out.destroyed;
    },
    open(status, headers) {
      out.writeHead(
        status,
        httpVersionMajor === 2
          ? Object.fromEntries(
              Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())),
            )
          : headers,
      );
      out.flushHeaders?.();
    },
    write(chunk) {
      if (connected && !out.destroyed) out.write(chunk);
    },
    end() {
      if (!out.writableEnded && !out.destroyed) out.end();
    },
  };
}

/**
 * A streaming route as API Gateway runs it with response streaming: the Lambda proxy event,
 * then the streaming Lambda's own answer, written as it comes. What does not stream runs the
 * local workflow, as the Lambda runs StartSyncExecution.
 */
export async function streamRoute(
  workflow: LocalWorkflow,
  event: StreamProxyEvent,
  sink: StreamSink,
): Promise<void> {
  const handler = await loadStreamHandler();
  await handler(event, sink, workflow);
}
