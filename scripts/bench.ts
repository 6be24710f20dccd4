/**
 * npm run bench: the sentry's overhead over a direct Bedrock call, and the hard cap under load.
 *
 * Starts the local stack in a child process (so the load generator does not share its event
 * loop), drives POST /v1/invoke over HTTP at several concurrency levels, and drives the same
 * Bedrock simulator directly with the SDK at the same levels, in the same run. Figures are
 * printed and written as JSON under bench-results/.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { validateRequest } from '../lambdas/validate-request/core.ts';
import { catalogOf, loadConfig } from '../lib/config/schema.ts';
import { drive, round2, startStack } from './bench-harness.ts';
import { type HardCap, type Level, print } from './bench-report.ts';
import { benchStreaming, reportStreaming } from './bench-stream.ts';
import { measureColdStarts } from './cold-starts.ts';
import { measureRequestPaths } from './measure.ts';

const CONCURRENCY = [1, 10, 50];
const WARMUP = 30;
const CAP_REQUESTS = 200;
const CAP_FITS = 50;

const config = loadConfig('cost-sentry.config.json');
const body = (costCenter: string) => ({
  model: 'nova-lite',
  prompt: {
    messages: [{ role: 'user', content: 'Summarise our cloud bill in one line.' }],
    parameters: { max_tokens: 64 },
  },
  tags: { applicationId: 'bench', costCenter, environment: 'test' },
});
const worstCasePico = BigInt(
  validateRequest(
    { requestId: 'x', receivedAt: Date.now(), body: JSON.stringify(body('bench-cap')) },
    catalogOf(config),
    { openCallers: true },
  ).estimate.costPico,
);
const capLimitUsd = Number(worstCasePico * BigInt(CAP_FITS)) / 1e12;

/** What the sentry answers, in the fields the bench reads. */
interface InvokeAnswer {
  cost: { usd: number };
  error: { code: string; budget?: { limitUsd: number; remainingUsd: number } };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cost-sentry-bench-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      ...config,
      budgets: {
        ...config.budgets,
        bench: { period: 'monthly', limitUsd: 1_000_000 },
        'bench-cap': { period: 'monthly', limitUsd: capLimitUsd },
        'bench-held': { period: 'monthly', limitUsd: capLimitUsd },
      },
    }),
  );
  const { child, url, simulator } = await startStack(configPath, join(dir, 'sentry.log'));
  try {
    const invoke = async (costCenter: string) => {
      const response = await fetch(`${url}/v1/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(costCenter)),
      });
      return { status: response.status, json: (await response.json()) as InvokeAnswer };
    };
    const sentryCall = async () => {
      const { status } = await invoke('bench');
      if (status !== 200) throw new Error(`the sentry answered ${status}`);
    };
    const sdk = new BedrockRuntimeClient({
      endpoint: simulator,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const request = body('bench');
    const directCall = async () => {
      await sdk.send(
        new ConverseCommand({
          modelId: 'amazon.nova-lite-v1:0',
          messages: request.prompt.messages.map((m) => ({ role: 'user', content: [{ text: m.content }] })),
          inferenceConfig: { maxTokens: 64 },
        }),
      );
    };

    await drive(WARMUP, 5, sentryCall);
    await drive(WARMUP, 5, directCall);
    const levels: Level[] = [];
    for (const concurrency of CONCURRENCY) {
      const total = Math.max(200, concurrency * 20);
      const direct = await drive(total, concurrency, directCall);
      const sentry = await drive(total, concurrency, sentryCall);
      levels.push({
        concurrency,
        sentry,
        direct,
        overheadMs: {
          p50: round2(sentry.p50 - direct.p50),
          p95: round2(sentry.p95 - direct.p95),
          p99: round2(sentry.p99 - direct.p99),
        },
        latencyRatioP50: round2(sentry.p50 / direct.p50),
        throughputRatio: round2(direct.rps / sentry.rps),
      });
    }

    reportStreaming(await benchStreaming(url, simulator, 'bench'));

    // The hard cap: CAP_REQUESTS at once against a budget that holds CAP_FITS worst cases.
    const arrivals: Array<{ status: number; json: InvokeAnswer }> = [];
    await Promise.all(
      Array.from({ length: CAP_REQUESTS }, () => invoke('bench-cap').then((r) => arrivals.push(r))),
    );
    const accepted = arrivals.filter((r) => r.status === 200);
    const rejected = arrivals.filter((r) => r.status === 429);
    const spentPico = accepted.reduce((sum, r) => sum + BigInt(Math.round(r.json.cost.usd * 1e12)), 0n);
    const first = rejected[0]?.json.error.budget;
    const hardCap: HardCap = {
      requests: CAP_REQUESTS,
      limitUsd: capLimitUsd,
      worstCaseUsd: Number(worstCasePico) / 1e12,
      accepted: accepted.length,
      rejected: rejected.length,
      otherStatuses: arrivals.length - accepted.length - rejected.length,
      spentUsd: Number(spentPico) / 1e12,
      spentWithinLimit: Number(spentPico) / 1e12 <= capLimitUsd,
      utilizationAtFirstRejection: first
        ? round4((first.limitUsd - first.remainingUsd) / first.limitUsd)
        : null,
      finalUtilization: round4(Number(spentPico) / 1e12 / capLimitUsd),
    };

    // The same storm, with clients that retry "held" refusals after their Retry-After.
    const heldRetry = {
      requests: CAP_REQUESTS,
      accepted: 0,
      heldRefusals: 0,
      spentRefusals: 0,
      other: 0,
      spentPico: 0n,
    };
    await Promise.all(
      Array.from({ length: CAP_REQUESTS }, async () => {
        for (;;) {
          const { status, json } = await invoke('bench-held');
          const error = json.error as InvokeAnswer['error'] & { reason?: string; retryAfterSeconds?: number };
          if (status === 200) {
            heldRetry.accepted++;
            heldRetry.spentPico += BigInt(Math.round(json.cost.usd * 1e12));
          } else if (status === 429 && error.reason === 'held') {
            heldRetry.heldRefusals++;
            await new Promise((resolve) => setTimeout(resolve, (error.retryAfterSeconds ?? 1) * 1000));
            continue;
          } else if (status === 429) heldRetry.spentRefusals++;
          else heldRetry.other++;
          return;
        }
      }),
    );
    const heldSpentUsd = Number(heldRetry.spentPico) / 1e12;
    const heldRetryFigures = {
      ...heldRetry,
      spentPico: undefined,
      spentUsd: heldSpentUsd,
      overspendUsd: Math.max(0, heldSpentUsd - capLimitUsd),
      utilization: round4(heldSpentUsd / capLimitUsd),
    };

    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    };
    // The local stack is done; the rest is measured in this process, one runtime at a time.
    child.kill('SIGTERM');
    sdk.destroy();
    const paths = await measureRequestPaths(config);
    const coldStarts = await measureColdStarts(config);
    const result = {
      date: new Date().toISOString(),
      machine,
      levels,
      hardCap,
      heldRetry: heldRetryFigures,
      paths,
      coldStarts,
    };
    print(result);
    mkdirSync('bench-results', { recursive: true });
    const file = join('bench-results', `bench-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`\nFigures written to ${file}\n`);
  } finally {
    child.kill('SIGTERM');
  }
}

const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
