import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Period, periodKey } from '../../lambdas/shared/rules/period.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import { validateRequest } from '../../lambdas/validate-request/core.ts';
import { teeJsonLines } from '../../local/log-sink.ts';
import { type LocalRuntime, type LocalRuntimeOptions, startRuntime } from '../../local/runtime.ts';
import type { SyncExecutionResult } from '../../local/workflow.ts';
import { type FaultProxy, startFaultProxy } from './dynamo-proxy.ts';
import { exampleCatalog, exampleConfig } from './fixtures.ts';

/** Retry pauses shortened for tests; the backoff itself is the definition's (checked statically). */
export const FAST_RETRIES = {
  InvokeModel: 5,
  ValidateRequest: 5,
  ReserveBudget: 5,
  SettleUsage: 5,
  HandleFailure: 5,
};

/** The runtime behind the gateway, its metric and audit lines in a temporary file only. */
export async function startTestRuntime(options: Partial<LocalRuntimeOptions> = {}): Promise<LocalRuntime> {
  const sink = teeJsonLines(join(mkdtempSync(join(tmpdir(), 'cost-sentry-')), 'sentry.log'), { echo: false });
  const runtime = await startRuntime({
    config: exampleConfig(),
    retryIntervalOverrides: FAST_RETRIES,
    ...options,
  });
  return {
    ...runtime,
    close: async () => {
      await runtime.close();
      sink.restore();
    },
  };
}

/**
 * The test runtime with a fault proxy in front of its DynamoDB: the handlers' calls go through
 * it (counted, or failed on demand); `close` stops both.
 */
export async function startProxiedRuntime(
  options: Partial<LocalRuntimeOptions> = {},
): Promise<{ runtime: LocalRuntime; proxy: FaultProxy }> {
  let proxy: FaultProxy | undefined;
  const runtime = await startTestRuntime({
    ...options,
    interposeDynamo: async (endpoint) => {
      proxy = await startFaultProxy(endpoint);
      return proxy.endpoint;
    },
  });
  if (!proxy) throw new Error('the runtime did not interpose the proxy');
  const started = proxy;
  return {
    runtime: {
      ...runtime,
      close: async () => {
        await runtime.close();
        await started.close();
      },
    },
    proxy: started,
  };
}

/** Run one execution with a client body, as the request template would start it. */
export function execute(
  runtime: LocalRuntime,
  body: unknown,
): Promise<SyncExecutionResult & { requestId: string }> {
  const requestId = randomUUID();
  return runtime.workflow
    .run({ requestId, receivedAt: Date.now(), body: typeof body === 'string' ? body : JSON.stringify(body) })
    .then((result) => ({ ...result, requestId }));
}

/** The current monthly counters of a cost center. */
export function counters(runtime: LocalRuntime, costCenter: string, period: Period = 'monthly') {
  return runtime.store.getCounter(keys.costCenterCounter(costCenter, periodKey(period, new Date())));
}

/** The public error body a FAILED execution carries. */
export function errorOf(result: SyncExecutionResult): {
  code: string;
  message: string;
  [key: string]: unknown;
} {
  return (JSON.parse(result.cause ?? '{}') as { error: { code: string; message: string } }).error;
}

/** Give the body's cost center a monthly budget that holds exactly `fits` of its worst cases. */
export async function budgetForWorstCases(
  runtime: LocalRuntime,
  body: Record<string, unknown>,
  fits: bigint,
): Promise<bigint> {
  const request = validateRequest(
    { requestId: 'x', receivedAt: Date.now(), body: JSON.stringify(body) },
    exampleCatalog(),
    { openCallers: true },
  );
  const limitPico = BigInt(request.estimate.costPico) * fits;
  await runtime.store.putBudget({
    costCenter: request.tags.costCenter,
    period: 'monthly',
    limitPico,
    alertThresholds: [],
  });
  return limitPico;
}
