/**
 * The streaming scenario of `npm run bench`: time to first token and total time of a
 * ConverseStream call, through the local sentry (POST /model/{modelId}/converse-stream) and
 * direct to the same Bedrock simulator, with the AWS SDK's own client both ways, at concurrency
 * 1 and 10. The simulator streams 32 tokens, 2 ms apart. Each path is warmed with 200 calls
 * first: the figures are a warm process's, as a warm Lambda's would be (cold starts are measured
 * apart).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { percentile, round2 } from './bench-harness.ts';

const CONCURRENCY = [1, 10];
/** Calls per path before measuring: with 20, the first level still ran partly unoptimized code. */
const WARMUP = 200;
const TEXT = 'Summarise our cloud bill in one line. [[sim:output_tokens=32;token_ms=2]]';

interface StreamFigures {
  requests: number;
  ttftMs: { p50: number; p95: number };
  totalMs: { p50: number; p95: number };
}

export interface StreamLevel {
  concurrency: number;
  sentry: StreamFigures;
  direct: StreamFigures;
  ttftOverheadMsP50: number;
}

/** One streamed call: milliseconds to the first text delta, and to the end of the stream. */
async function streamOnce(client: BedrockRuntimeClient, modelId: string, tags?: Record<string, string>) {
  const t0 = performance.now();
  const output = await client.send(
    new ConverseStreamCommand({
      modelId,
      messages: [{ role: 'user', content: [{ text: TEXT }] }],
      inferenceConfig: { maxTokens: 64 },
      ...(tags ? { requestMetadata: tags } : {}),
    }),
  );
  let ttft: number | undefined;
  for await (const event of output.stream ?? []) {
    if (ttft === undefined && event.contentBlockDelta?.delta?.text !== undefined)
      ttft = performance.now() - t0;
  }
  if (ttft === undefined) throw new Error('the stream carried no text');
  return { ttft, total: performance.now() - t0 };
}

async function drive(
  total: number,
  concurrency: number,
  call: () => Promise<{ ttft: number; total: number }>,
) {
  const ttfts: number[] = [];
  const totals: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const { ttft, total: t } = await call();
        ttfts.push(ttft);
        totals.push(t);
      }
    }),
  );
  ttfts.sort((a, b) => a - b);
  totals.sort((a, b) => a - b);
  return {
    requests: total,
    ttftMs: { p50: round2(percentile(ttfts, 50)), p95: round2(percentile(ttfts, 95)) },
    totalMs: { p50: round2(percentile(totals, 50)), p95: round2(percentile(totals, 95)) },
  };
}

/** Measure the streaming route against a running local stack and its simulator. */
export async function benchStreaming(
  url: string,
  simulator: string,
  costCenter: string,
): Promise<StreamLevel[]> {
  const client = (endpoint: string) =>
    new BedrockRuntimeClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  const sentry = client(url);
  const direct = client(simulator);
  const tags = { costCenter, applicationId: 'bench', environment: 'test' };
  const sentryCall = () => streamOnce(sentry, 'nova-lite', tags);
  const directCall = () => streamOnce(direct, 'amazon.nova-lite-v1:0');
  try {
    await drive(WARMUP, 2, sentryCall);
    await drive(WARMUP, 2, directCall);
    const levels: StreamLevel[] = [];
    for (const concurrency of CONCURRENCY) {
      const total = Math.max(200, concurrency * 20);
      const d = await drive(total, concurrency, directCall);
      const s = await drive(total, concurrency, sentryCall);
      levels.push({
        concurrency,
        sentry: s,
        direct: d,
        ttftOverheadMsP50: round2(s.ttftMs.p50 - d.ttftMs.p50),
      });
    }
    return levels;
  } finally {
    sentry.destroy();
    direct.destroy();
  }
}

/** Print the figures and write them under bench-results/. */
export function reportStreaming(levels: StreamLevel[]): void {
  const lines = [
    '',
    'Streaming (ConverseStream, 32 tokens 2 ms apart), ms p50 / p95, the SDK through the sentry vs direct to the simulator:',
    '',
    'conc  path     requests   first token p50/p95   total p50/p95',
  ];
  for (const level of levels) {
    for (const [name, f] of [
      ['sentry', level.sentry],
      ['direct', level.direct],
    ] as const) {
      lines.push(
        `${String(level.concurrency).padStart(4)}  ${name.padEnd(7)} ${String(f.requests).padStart(8)}   ${`${f.ttftMs.p50.toFixed(2)} / ${f.ttftMs.p95.toFixed(2)}`.padStart(19)}   ${`${f.totalMs.p50.toFixed(2)} / ${f.totalMs.p95.toFixed(2)}`.padStart(15)}`,
      );
    }
    lines.push(`      first-token overhead p50: +${level.ttftOverheadMsP50.toFixed(2)} ms`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  mkdirSync('bench-results', { recursive: true });
  const file = join('bench-results', `stream-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), levels }, null, 2)}\n`);
}
