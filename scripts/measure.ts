/**
 * Measurements the benchmark and the cost model share: DynamoDB calls per request path, how long
 * each function runs, log bytes per request (all in one in-process local runtime), and each
 * bundle's size and cold init time against the same handler unbundled.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ENV } from '../lambdas/shared/wiring/env.ts';
import { type CostSentryConfig, catalogOf } from '../lib/config/schema.ts';
import { teeJsonLines } from '../local/log-sink.ts';
import { startRuntime } from '../local/runtime.ts';
import { type FaultProxy, startFaultProxy } from '../test/helpers/dynamo-proxy.ts';

export const body = (costCenter: string, content = 'Summarise our cloud bill in one line.') => ({
  model: 'nova-lite',
  prompt: { messages: [{ role: 'user', content }], parameters: { max_tokens: 64 } },
  tags: { applicationId: 'bench', costCenter, environment: 'test' },
});

export interface PathMeasurement {
  /** DynamoDB calls of one request, by operation. */
  dynamoCalls: Record<string, number>;
  /** Read and write request units, for items under 1 KB (4 KB for reads): one a call, one an item of a batch. */
  readUnits: number;
  writeUnits: number;
}

export interface RequestPaths {
  success: PathMeasurement;
  budgetRefused: PathMeasurement;
  modelError: PathMeasurement;
  /** Mean milliseconds per invocation, by function, over the successful requests. */
  functionMs: Record<string, number>;
  /** Mean bytes of metric and audit lines a request writes. */
  logBytesPerRequest: number;
  requests: number;
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);

function units(calls: Map<string, number>, itemsPerBatchGet: number): PathMeasurement {
  const dynamoCalls = Object.fromEntries([...calls.entries()].sort());
  let readUnits = 0;
  let writeUnits = 0;
  for (const [operation, count] of calls) {
    if (operation === 'BatchGetItem') readUnits += count * itemsPerBatchGet;
    else if (READS.has(operation)) readUnits += count;
    else writeUnits += count;
  }
  return { dynamoCalls, readUnits, writeUnits };
}

/** Run the three request paths once each (after a warm-up), then `requests` successes for timings. */
export async function measureRequestPaths(config: CostSentryConfig, requests = 200): Promise<RequestPaths> {
  const dir = mkdtempSync(join(tmpdir(), 'cost-sentry-measure-'));
  const sink = teeJsonLines(join(dir, 'sentry.log'), { echo: false });
  let proxy: FaultProxy | undefined;
  const timings = new Map<string, number[]>();
  const runtime = await startRuntime({
    config,
    sweepIntervalMs: 0,
    onInvoke: (name, ms) => timings.set(name, [...(timings.get(name) ?? []), ms]),
    interposeDynamo: async (endpoint) => {
      proxy = await startFaultProxy(endpoint);
      return proxy.endpoint;
    },
  });
  try {
    await runtime.store.putBudget({
      costCenter: 'measure',
      period: 'monthly',
      limitPico: 10n ** 15n,
      alertThresholds: [],
    });
    await runtime.store.putBudget({
      costCenter: 'measure-empty',
      period: 'monthly',
      limitPico: 1n,
      alertThresholds: [],
    });
    let n = 0;
    const run = (b: unknown) =>
      runtime.workflow.run({ requestId: `measure-${n++}`, receivedAt: Date.now(), body: JSON.stringify(b) });
    const counted = async (b: unknown) => {
      proxy?.calls.clear();
      await run(b);
      return units(new Map(proxy?.calls), 1);
    };
    for (let i = 0; i < 20; i++) await run(body('measure'));
    const success = await counted(body('measure'));
    const budgetRefused = await counted(body('measure-empty'));
    const modelError = await counted(body('measure', 'Hi [[sim:error=ValidationException]]'));

    timings.clear();
    const logBefore = statSync(sink.path).size;
    for (let i = 0; i < requests; i++) await run(body('measure'));
    const logBytesPerRequest = Math.round((statSync(sink.path).size - logBefore) / requests);
    const functionMs = Object.fromEntries(
      [...timings.entries()].map(([name, values]) => [
        name,
        round2(values.reduce((a, b) => a + b, 0) / values.length),
      ]),
    );
    return { success, budgetRefused, modelError, functionMs, logBytesPerRequest, requests };
  } finally {
    await runtime.close();
    await proxy?.close();
    sink.restore();
  }
}

export interface ColdStart {
  function: string;
  bundleBytes: number;
  bundledInitMs: number;
  unbundledInitMs: number;
  ratio: number;
}

const FUNCTIONS = [
  'validate-request',
  'claim-idempotency-key',
  'reserve-budget',
  'invoke-model',
  'settle-usage',
  'handle-failure',
  'budget-admin',
  'authorize-key',
  'sweep-reservations',
];

/**
 * Bundle each handler as the stack does (esbuild: ESM, minified, node24, the SDK bundled) and
 * time a fresh Node process importing it, against the same process importing the handler's
 * TypeScript source with its node_modules. Medians of `runs`.
 */
export async function measureColdStarts(config: CostSentryConfig, runs = 5): Promise<ColdStart[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cost-sentry-bundles-'));
  const env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    [ENV.catalog]: JSON.stringify(catalogOf(config)),
    [ENV.tableName]: 'cost-sentry',
    [ENV.bedrockTimeoutMs]: '18000',
  };
  const results: ColdStart[] = [];
  for (const name of FUNCTIONS) {
    const outfile = join(dir, name, 'index.mjs');
    await build({
      entryPoints: [join('lambdas', name, 'handler.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      minify: true,
      sourcemap: 'external',
      mainFields: ['module', 'main'],
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'silent',
    });
    const time = (file: string) =>
      median(
        Array.from({ length: runs }, () => {
          const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
          const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
            env,
            encoding: 'utf8',
          });
          if (child.status !== 0) throw new Error(`importing ${file} failed: ${child.stderr}`);
          return Number(child.stdout);
        }),
      );
    const bundledInitMs = time(outfile);
    const unbundledInitMs = time(join(process.cwd(), 'lambdas', name, 'handler.ts'));
    results.push({
      function: name,
      bundleBytes: readFileSync(outfile).length,
      bundledInitMs: round2(bundledInitMs),
      unbundledInitMs: round2(unbundledInitMs),
      ratio: round2(unbundledInitMs / bundledInitMs),
    });
  }
  return results;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const round2 = (n: number) => Math.round(n * 100) / 100;
