/**
 * Measurements the benchmark and the cost model share: DynamoDB calls per request path, how long
 * each function runs, log bytes per request (all in one in-process local runtime), and each
 * bundle's size and cold init time against the same handler unbundled.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { DynamoBudgetStore } from '../lambdas/shared/adapters/budget-store.ts';
import type { CostSentryConfig } from '../lib/config/schema.ts';
import { ensureTable } from '../local/dynamo.ts';
import { teeJsonLines } from '../local/log-sink.ts';
import { LOCAL_TABLE, seedBudgets, startRuntime } from '../local/runtime.ts';
import { type FaultProxy, startFaultProxy } from '../test/helpers/dynamo-proxy.ts';
import { round2 } from './cold-starts.ts';

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
  /** Bytes CloudWatch Logs ingests for one request on this path, by source (see {@link LogBytes}). */
  logBytes: LogBytes;
}

/**
 * Log bytes of one request, by source. `application` is measured: the handlers' metric and audit
 * lines, with the X-Ray trace ID Powertools adds on AWS. `accessLog` is the stage's access log
 * format rendered with typical values. `runtimeErrors` is measured from the error reports of the
 * functions that threw, plus the Node.js runtime's envelope. `stateMachine` counts Step Functions'
 * events at level ERROR (one TaskFailed per failed task; an estimate of each event's size).
 * Lambda's START, END and REPORT lines are 0 at system log level WARN.
 */
export interface LogBytes {
  application: number;
  accessLog: number;
  runtimeErrors: number;
  stateMachine: number;
  total: number;
}

export interface RequestPaths {
  success: PathMeasurement;
  budgetRefused: PathMeasurement;
  modelError: PathMeasurement;
  /** A success on a budget split into 8 shards, all created (see `shards.ts`). */
  sharded: PathMeasurement;
  /** A request the response cache answers (its budget keeps answers; the same request ran before). */
  cacheHit: PathMeasurement;
  /** Mean milliseconds per invocation, by function, over the successful requests. */
  functionMs: Record<string, number>;
  /**
   * Mean CPU milliseconds (user + system, one core) per invocation, by function: the sentry's
   * own work, with DynamoDB and the Bedrock simulator in another process.
   */
  functionCpuMs: Record<string, number>;
  /** Mean bytes of metric and audit lines a successful request writes. */
  logBytesPerRequest: number;
  requests: number;
}

/** What Step Functions logs for one failed task at level ERROR (a TaskFailed event, no execution data): an estimate. */
export const STATE_MACHINE_ERROR_EVENT_BYTES = 350;
/** The Node.js runtime's envelope around an error report (timestamp, level, requestId): an estimate. */
const RUNTIME_ERROR_ENVELOPE_BYTES = 120;
/** A trace header as Lambda sets it, so Powertools adds `xray_trace_id` to its lines as on AWS. */
const TRACE_HEADER = 'Root=1-6751e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

/** The stage's access log line (CDK's JSON format with the standard fields) with typical values. */
export function accessLogBytes(): number {
  const typical: Record<string, string> = {
    requestId: '8d5f6c2e-1b3a-4f0e-9c7d-2a6b4e8f0a1c',
    'identity.sourceIp': '203.0.113.24',
    'identity.user': '-',
    'identity.caller': '-',
    requestTime: '01/Dec/2026:22:28:23 +0000',
    httpMethod: 'POST',
    resourcePath: '/v1/invoke',
    status: '200',
    protocol: 'HTTP/1.1',
    responseLength: '412',
  };
  const line = AccessLogFormat.jsonWithStandardFields()
    .toString()
    .replace(/\$context\.([\w.]+)/g, (_, name: string) => typical[name] ?? '-');
  return Buffer.byteLength(line) + 1;
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);

function units(calls: Map<string, number>, itemsPerBatchGet: number): Omit<PathMeasurement, 'logBytes'> {
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

/** DynamoDB and the Bedrock simulator in a child process, so this process's CPU is the sentry's own. */
async function startServices(
  config: CostSentryConfig,
): Promise<{ dynamo: string; bedrock: string; stop(): void }> {
  const models = Object.values(config.models).map((m) => m.inferenceProfileArn ?? m.modelId);
  const local = (file: string) => JSON.stringify(pathToFileURL(join(process.cwd(), 'local', file)).href);
  const script = `
    const { startDynalite } = await import(${local('dynamo.ts')});
    const { startBedrockSimulator } = await import(${local('bedrock-simulator.ts')});
    const dynamo = await startDynalite({});
    const simulator = await startBedrockSimulator({ models: new Set(${JSON.stringify(models)}) });
    process.stdout.write(JSON.stringify({ dynamo: dynamo.endpoint, bedrock: simulator.endpoint }) + '\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const endpoints = JSON.parse(line.toString()) as { dynamo: string; bedrock: string };
  return { ...endpoints, stop: () => child.kill('SIGTERM') };
}

/**
 * Run each request path `samples` times (after a warm-up) to count its DynamoDB calls and its log
 * bytes, then `requests` successes for the functions' times. DynamoDB and the simulator run in a
 * child process; the handlers, the state machine and the SDK clients run here, one request at a time.
 */
export async function measureRequestPaths(config: CostSentryConfig, requests = 200): Promise<RequestPaths> {
  const dir = mkdtempSync(join(tmpdir(), 'cost-sentry-measure-'));
  const services = await startServices(config);
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: services.bedrock,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    _X_AMZN_TRACE_ID: TRACE_HEADER,
  });
  const sink = teeJsonLines(join(dir, 'sentry.log'), { echo: false });
  let proxy: FaultProxy | undefined;
  const timings = new Map<string, number[]>();
  const cpuTimings = new Map<string, number[]>();
  let errorReportBytes = 0;
  const runtime = await startRuntime({
    config,
    bedrock: 'aws',
    sweepIntervalMs: 0,
    onInvoke: (name, ms, cpuMs, errorReport) => {
      timings.set(name, [...(timings.get(name) ?? []), ms]);
      cpuTimings.set(name, [...(cpuTimings.get(name) ?? []), cpuMs]);
      if (errorReport) errorReportBytes += Buffer.byteLength(errorReport) + RUNTIME_ERROR_ENVELOPE_BYTES;
    },
    interposeDynamo: async () => {
      proxy = await startFaultProxy(services.dynamo);
      return proxy.endpoint;
    },
  });
  const client = new DynamoDBClient({ endpoint: services.dynamo });
  try {
    await ensureTable(client, LOCAL_TABLE);
    const store = new DynamoBudgetStore(client, LOCAL_TABLE);
    await seedBudgets(store, config);
    await store.putBudget({
      costCenter: 'measure',
      period: 'monthly',
      limitPico: 10n ** 15n,
      alertThresholds: [],
    });
    await store.putBudget({
      costCenter: 'measure-empty',
      period: 'monthly',
      limitPico: 1n,
      alertThresholds: [],
    });
    await store.putBudget({
      costCenter: 'measure-sharded',
      period: 'monthly',
      limitPico: 10n ** 15n,
      alertThresholds: [],
      shards: 8,
    });
    await store.putBudget({
      costCenter: 'measure-cached',
      period: 'monthly',
      limitPico: 10n ** 15n,
      alertThresholds: [],
      cache: { ttlSeconds: 3600 },
    });
    let n = 0;
    const run = (b: unknown) =>
      runtime.workflow.run({ requestId: `measure-${n++}`, receivedAt: Date.now(), body: JSON.stringify(b) });
    const samples = 20;
    const measured = async (b: unknown): Promise<PathMeasurement> => {
      proxy?.calls.clear();
      await run(b);
      const calls = units(new Map(proxy?.calls), 1);
      errorReportBytes = 0;
      const logBefore = statSync(sink.path).size;
      for (let i = 0; i < samples; i++) await run(b);
      const application = Math.round((statSync(sink.path).size - logBefore) / samples);
      const runtimeErrors = Math.round(errorReportBytes / samples);
      const stateMachine = runtimeErrors > 0 ? STATE_MACHINE_ERROR_EVENT_BYTES : 0;
      const accessLog = accessLogBytes();
      const total = application + accessLog + runtimeErrors + stateMachine;
      return { ...calls, logBytes: { application, accessLog, runtimeErrors, stateMachine, total } };
    };
    for (let i = 0; i < 20; i++) await run(body('measure'));
    const success = await measured(body('measure'));
    const budgetRefused = await measured(body('measure-empty'));
    const modelError = await measured(body('measure', 'Hi [[sim:error=ValidationException]]'));
    // The first requests of a period create the shards: measure once they exist.
    for (let i = 0; i < 40; i++) await run(body('measure-sharded'));
    const sharded = await measured(body('measure-sharded'));
    const cached = body('measure-cached');
    const deterministic = {
      ...cached,
      prompt: { ...cached.prompt, parameters: { max_tokens: 64, temperature: 0 } },
    };
    await run(deterministic);
    const cacheHit = await measured(deterministic);

    timings.clear();
    cpuTimings.clear();
    for (let i = 0; i < requests; i++) await run(body('measure'));
    const means = (map: Map<string, number[]>) =>
      Object.fromEntries(
        [...map.entries()].map(([name, values]) => [
          name,
          round2(values.reduce((a, b) => a + b, 0) / values.length),
        ]),
      );
    return {
      success,
      budgetRefused,
      modelError,
      sharded,
      cacheHit,
      functionMs: means(timings),
      functionCpuMs: means(cpuTimings),
      logBytesPerRequest: success.logBytes.application,
      requests,
    };
  } finally {
    client.destroy();
    await runtime.close();
    await proxy?.close();
    sink.restore();
    services.stop();
    for (const key of [
      'AWS_ENDPOINT_URL_BEDROCK_RUNTIME',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      '_X_AMZN_TRACE_ID',
    ]) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}
