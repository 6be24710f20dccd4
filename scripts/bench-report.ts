/**
 * What `npm run bench` prints: latency and throughput per concurrency level, the hard cap, the
 * held retry, the DynamoDB work, the cold starts and the measured paths.
 */
import type { Figures } from './bench-harness.ts';
import type { ColdStart } from './cold-starts.ts';
import { measurementLines } from './latency-budget.ts';
import type { RequestPaths } from './measure.ts';

export interface Level {
  concurrency: number;
  sentry: Figures;
  direct: Figures;
  overheadMs: { p50: number; p95: number; p99: number };
  latencyRatioP50: number;
  throughputRatio: number;
}

export interface HardCap {
  requests: number;
  limitUsd: number;
  worstCaseUsd: number;
  accepted: number;
  rejected: number;
  otherStatuses: number;
  spentUsd: number;
  spentWithinLimit: boolean;
  utilizationAtFirstRejection: number | null;
  finalUtilization: number;
}

export function print(result: {
  machine: Record<string, unknown>;
  levels: Level[];
  hardCap: HardCap;
  heldRetry: { accepted: number; heldRefusals: number; spentRefusals: number; other: number } & {
    spentUsd: number;
    overspendUsd: number;
    utilization: number;
  };
  paths: RequestPaths;
  coldStarts: ColdStart[];
}): void {
  const { machine, levels, hardCap, heldRetry, paths, coldStarts } = result;
  const lines = [
    `Cost Sentry benchmark on ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`,
    '',
    'Latency in ms (p50 / p95 / p99) and requests per second, local sentry over HTTP vs a direct SDK call to the same simulator:',
    '',
    'conc  path    requests      p50      p95      p99      req/s',
  ];
  for (const level of levels) {
    for (const [name, f] of [
      ['sentry', level.sentry],
      ['direct', level.direct],
    ] as const) {
      lines.push(
        `${String(level.concurrency).padStart(4)}  ${name.padEnd(6)} ${String(f.requests).padStart(8)} ${f.p50.toFixed(2).padStart(8)} ${f.p95.toFixed(2).padStart(8)} ${f.p99.toFixed(2).padStart(8)} ${f.rps.toFixed(1).padStart(10)}`,
      );
    }
    lines.push(
      `      overhead: +${level.overheadMs.p50} ms p50, +${level.overheadMs.p95} ms p95, +${level.overheadMs.p99} ms p99; ` +
        `p50 ratio ${level.latencyRatioP50}x; direct/sentry throughput ${level.throughputRatio}x`,
    );
  }
  lines.push(
    '',
    `Hard cap: ${hardCap.requests} concurrent requests against a $${hardCap.limitUsd} budget (${Math.round(hardCap.limitUsd / hardCap.worstCaseUsd)} worst cases of $${hardCap.worstCaseUsd})`,
    `  accepted ${hardCap.accepted}, rejected ${hardCap.rejected} (BUDGET_EXCEEDED), other ${hardCap.otherStatuses}`,
    `  spent $${hardCap.spentUsd} of $${hardCap.limitUsd} (within limit: ${hardCap.spentWithinLimit}); utilization at the first rejection ${hardCap.utilizationAtFirstRejection}, at the end ${hardCap.finalUtilization}`,
    `Held retry: ${hardCap.requests} concurrent clients that retry "held" refusals after Retry-After, same budget`,
    `  accepted ${heldRetry.accepted}, held refusals retried ${heldRetry.heldRefusals}, spent refusals ${heldRetry.spentRefusals}, other ${heldRetry.other}`,
    `  spent $${heldRetry.spentUsd} of $${hardCap.limitUsd}: utilization ${heldRetry.utilization}, overspend $${heldRetry.overspendUsd}`,
  );
  const calls = (p: RequestPaths['success']) =>
    `${Object.entries(p.dynamoCalls)
      .map(([op, n]) => `${n} ${op}`)
      .join(', ')} = ${p.readUnits} read + ${p.writeUnits} write units`;
  lines.push(
    '',
    'DynamoDB work per request (items under 1 KB):',
    `  success:          ${calls(paths.success)}`,
    `  budget refused:   ${calls(paths.budgetRefused)}`,
    `  model error:      ${calls(paths.modelError)}`,
    `  success, 8 shards: ${calls(paths.sharded)}`,
    '',
    `Function time per successful request, in process (mean of ${paths.requests}): ` +
      Object.entries(paths.functionMs)
        .map(([f, ms]) => `${f} ${ms} ms`)
        .join(', '),
    `Metric and audit log bytes per request: ${paths.logBytesPerRequest}`,
    '',
    'Cold start: bundle size, and a fresh process importing the bundle vs the unbundled handler (median ms):',
    ...coldStarts.map(
      (c) =>
        `  ${c.function.padEnd(22)} ${String(Math.round(c.bundleBytes / 1024)).padStart(5)} KiB  ${c.bundledInitMs
          .toFixed(1)
          .padStart(7)} ms vs ${c.unbundledInitMs.toFixed(1).padStart(7)} ms unbundled (${c.ratio}x)`,
    ),
  );
  lines.push('', ...measurementLines(paths, coldStarts));
  process.stdout.write(`${lines.join('\n')}\n`);
}
