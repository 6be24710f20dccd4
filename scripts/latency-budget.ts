/**
 * The deployed latency budget of a success, hop by hop, from the measured request paths and cold
 * starts and the published or assumed figures of the AWS services around them.
 */
import { type ColdStart, round2 } from './cold-starts.ts';
import type { PathMeasurement, RequestPaths } from './measure.ts';

/** Lambda gives a function one vCPU's worth of CPU at 1,769 MB, and a share in proportion below. */
export const FULL_VCPU_MB = 1769;
/** A DynamoDB call from a Lambda in the same region: "single-digit milliseconds"; 8 ms taken. */
export const DYNAMO_ROUND_TRIP_MS = 8;
/** Step Functions' transition and Lambda's invoke around one Task state: not published; 25 ms assumed. */
export const STATE_OVERHEAD_MS = 25;
/** API Gateway REST's own time with mapping templates: 10 to 30 ms published by third parties; 20 ms taken. */
export const API_GATEWAY_MS = 20;
/** StartSyncExecution's start and finish of an Express execution: not published; 10 ms assumed. */
export const START_SYNC_EXECUTION_MS = 10;

export interface Hop {
  hop: string;
  /** Milliseconds a warm request spends here (p50 estimate). */
  warmMs: number;
  /** Extra milliseconds when the function starts cold (its init CPU at its CPU share). */
  coldExtraMs: number;
  /** Where the figure comes from. */
  basis: string;
}

/**
 * The deployed latency budget of a successful request, per hop, at `memoryMb`: published or assumed
 * figures for the AWS services, and the sentry's own measured CPU per step scaled by its CPU share.
 */
export function latencyBudget(paths: RequestPaths, coldStarts: ColdStart[], memoryMb = 256): Hop[] {
  const share = FULL_VCPU_MB / memoryMb;
  const cold = (fn: string) => (coldStarts.find((c) => c.function === fn)?.bundledInitCpuMs ?? 0) * share;
  const step = (fn: string, state: string, dynamo: string[]): Hop[] => [
    {
      hop: `${state}: Step Functions task and Lambda invoke`,
      warmMs: STATE_OVERHEAD_MS,
      coldExtraMs: round2(cold(fn)),
      basis: 'assumed (not published); cold: measured init CPU x CPU share',
    },
    {
      hop: `${state}: the sentry's CPU`,
      warmMs: round2((paths.functionCpuMs[fn] ?? 0) * share),
      coldExtraMs: 0,
      basis: `measured ${paths.functionCpuMs[fn] ?? 0} ms on one core x ${round2(share)}`,
    },
    ...dynamo.map((call) => ({
      hop: `${state}: DynamoDB ${call}`,
      warmMs: DYNAMO_ROUND_TRIP_MS,
      coldExtraMs: 0,
      basis: 'published: single-digit ms',
    })),
  ];
  return [
    {
      hop: 'API Gateway REST (mapping templates)',
      warmMs: API_GATEWAY_MS,
      coldExtraMs: 0,
      basis: 'published 10-30 ms',
    },
    {
      hop: 'StartSyncExecution (Express start and finish)',
      warmMs: START_SYNC_EXECUTION_MS,
      coldExtraMs: 0,
      basis: 'assumed (not published)',
    },
    ...step('validate-request', 'ValidateRequest', []),
    ...step('reserve-budget', 'ReserveBudget', ['BatchGetItem (budgets)', 'UpdateItem (hold)']),
    ...step('invoke-model', 'InvokeModel', []),
    ...step('settle-usage', 'SettleUsage', ['UpdateItem (settle)', 'UpdateItem (day aggregate)']),
  ];
}

/** What the benchmark prints of these measurements, after its own figures. */
export function measurementLines(paths: RequestPaths, coldStarts: ColdStart[]): string[] {
  const bytes = (p: PathMeasurement) =>
    `${p.logBytes.total} (application ${p.logBytes.application}, access log ${p.logBytes.accessLog}, ` +
    `runtime errors ${p.logBytes.runtimeErrors}, state machine ${p.logBytes.stateMachine})`;
  const hops = latencyBudget(paths, coldStarts);
  const warm = hops.reduce((sum, h) => sum + h.warmMs, 0);
  const cold = hops.reduce((sum, h) => sum + h.coldExtraMs, 0);
  const units = (p: PathMeasurement) =>
    `${Object.entries(p.dynamoCalls)
      .map(([op, count]) => `${count} ${op}`)
      .join(', ')} = ${p.readUnits} read + ${p.writeUnits} write units`;
  return [
    `DynamoDB work of a response cache hit: ${units(paths.cacheHit)} (a call: ${units(paths.success)})`,
    `Sentry CPU per call (one core, DynamoDB and the simulator in another process): ${Object.entries(
      paths.functionCpuMs,
    )
      .map(([f, ms]) => `${f} ${ms} ms`)
      .join(', ')}`,
    'Log bytes ingested per request (Lambda system lines at WARN, Express at ERROR):',
    `  success:          ${bytes(paths.success)}`,
    `  budget refused:   ${bytes(paths.budgetRefused)}`,
    `  model error:      ${bytes(paths.modelError)}`,
    `  cache hit:        ${bytes(paths.cacheHit)}`,
    '',
    'Deployed latency budget of a success at 256 MB (ms, warm p50; extra when the function starts cold):',
    ...hops.map(
      (h) =>
        `  ${h.hop.padEnd(52)} ${h.warmMs.toFixed(1).padStart(7)} ${h.coldExtraMs ? `+${h.coldExtraMs.toFixed(0)}`.padStart(7) : '       '}  ${h.basis}`,
    ),
    `  ${'the sentry adds (model time excluded)'.padEnd(52)} ${warm.toFixed(1).padStart(7)} ${`+${cold.toFixed(0)}`.padStart(7)}  if all four start cold`,
  ];
}
