/**
 * npm run cost-model: what the sentry itself costs on AWS per million requests, from the request
 * paths measured locally (the sentry's CPU per step, DynamoDB units, log bytes), InvokeModel's
 * bundle (cold init CPU and resident memory) and the list prices below, beside the Bedrock cost of
 * the same request. It prints each change of the log diet and the memory decision before and after.
 */
import { loadConfig } from '../lib/config/schema.ts';
import { type ColdStart, measureColdStarts } from './cold-starts.ts';
import { hotCostCenterLines } from './hot-cost-center.ts';
import { DYNAMO_ROUND_TRIP_MS, FULL_VCPU_MB, STATE_OVERHEAD_MS } from './latency-budget.ts';
import { measureRequestPaths, type RequestPaths } from './measure.ts';

/** List prices, us-east-1, in USD, as published on 2026-11-01. Change them here, in one place. */
export const PRICES = {
  date: '2026-11-01',
  apiGatewayRestPerMillion: 3.5,
  stepFunctionsExpressPerMillionRequests: 1.0,
  stepFunctionsExpressPerGbSecond: 0.00001667,
  lambdaPerMillionRequests: 0.2,
  lambdaArmPerGbSecond: 0.0000133334,
  dynamoWritePerMillionUnits: 0.625,
  dynamoReadPerMillionUnits: 0.125,
  logsIngestedPerGb: 0.5,
  xrayPerMillionTracesRecorded: 5.0,
  customMetricPerMonth: 0.3,
} as const;

/** The functions' memory as deployed. */
const DEPLOYED_MB = 256;

/** The log bytes of a success before the log diet (the last run before it, and the estimates it used). */
const BEFORE_LOG_BYTES = {
  application: 1344, // measured: metric and audit lines, without the X-Ray trace ID
  lambdaPlatform: 4 * 3 * 250, // START, END and REPORT for each of the four function calls
  stepFunctions: 12 * 350, // execution and state events at level ALL, without execution data
  apiGatewayAccess: 600, // estimated then; rendered now from the stage's format (see measure.ts)
};

/**
 * X-Ray: the stage, the state machine and the functions trace one request as one trace, recorded
 * when API Gateway samples it. The default sampling rule records the first request each second
 * and 5% of the rest; the free tier (100,000 traces a month) is left out.
 */
const XRAY_DEFAULT_RESERVOIR_PER_SECOND = 1;
const XRAY_DEFAULT_RATE = 0.05;
/** The steady request rate the model assumes for X-Ray's reservoir (26 million requests a month). */
const REQUESTS_PER_SECOND = 10;
/** A sampling rule for the sentry's stage with no reservoir: 5% of requests at any rate (proposed). */
const XRAY_PROPOSED_RATE = 0.05;

const xrayShareAt = (rps: number) =>
  Math.min(1, (XRAY_DEFAULT_RESERVOIR_PER_SECOND + XRAY_DEFAULT_RATE * Math.max(0, rps - 1)) / rps);

/** Two typical requests: 500 input and 300 output tokens, and how long the model takes to answer. */
const SCENARIOS = [
  { model: 'amazon.nova-micro-v1:0', label: 'Nova Micro', modelLatencyMs: 700, targetUsd: 11 },
  {
    model: 'global.anthropic.claude-sonnet-4-6',
    label: 'Claude Sonnet 4.6',
    modelLatencyMs: 6000,
    targetUsd: 30,
  },
];
const INPUT_TOKENS = 500;
const OUTPUT_TOKENS = 300;

/** The success path's functions and their DynamoDB calls (BatchGetItem and the hold; settle and the day's aggregate). */
const SUCCESS_PATH: Record<string, { dynamoCalls: number }> = {
  'validate-request': { dynamoCalls: 0 },
  'reserve-budget': { dynamoCalls: 2 },
  'invoke-model': { dynamoCalls: 0 },
  'settle-usage': { dynamoCalls: 2 },
};

const MILLION = 1_000_000;
const usd = (n: number) => `$${n.toFixed(2)}`;
const logsUsd = (bytes: number) => ((MILLION * bytes) / 1024 ** 3) * PRICES.logsIngestedPerGb;

/** A function's billed milliseconds at `mb`: its CPU scaled by its CPU share, plus its waits. */
function durationMs(cpuMs: number, mb: number, waitMs: number): number {
  return Math.ceil(cpuMs * (FULL_VCPU_MB / mb) + waitMs);
}

interface Settings {
  logBytes: number;
  invokeModelMb: number;
  xrayShare: number;
}

function costOf(paths: RequestPaths, modelLatencyMs: number, settings: Settings) {
  let lambdaGbSeconds = 0;
  let executionMs = 0;
  for (const [fn, { dynamoCalls }] of Object.entries(SUCCESS_PATH)) {
    const mb = fn === 'invoke-model' ? settings.invokeModelMb : DEPLOYED_MB;
    const wait = dynamoCalls * DYNAMO_ROUND_TRIP_MS + (fn === 'invoke-model' ? modelLatencyMs : 0);
    const ms = durationMs(paths.functionCpuMs[fn] ?? 0, mb, wait);
    lambdaGbSeconds += (mb / 1024) * (ms / 1000);
    executionMs += ms + STATE_OVERHEAD_MS;
  }
  const items = {
    'API Gateway (REST)': PRICES.apiGatewayRestPerMillion,
    'Step Functions Express requests': PRICES.stepFunctionsExpressPerMillionRequests,
    'Step Functions Express duration (64 MB)':
      MILLION * (64 / 1024) * (Math.ceil(executionMs / 100) / 10) * PRICES.stepFunctionsExpressPerGbSecond,
    'Lambda requests (4 calls)': 4 * PRICES.lambdaPerMillionRequests,
    'Lambda duration (arm64)': MILLION * lambdaGbSeconds * PRICES.lambdaArmPerGbSecond,
    'DynamoDB writes': paths.success.writeUnits * PRICES.dynamoWritePerMillionUnits,
    'DynamoDB reads': paths.success.readUnits * PRICES.dynamoReadPerMillionUnits,
    'CloudWatch Logs ingestion': logsUsd(settings.logBytes),
    'X-Ray traces': settings.xrayShare * PRICES.xrayPerMillionTracesRecorded,
  };
  return { items, total: Object.values(items).reduce((a, b) => a + b, 0) };
}

/** InvokeModel at 128, 256 and 512 MB: its warm duration and cold init, both scaled by CPU share. */
function memoryTradeOff(paths: RequestPaths, cold: ColdStart) {
  const cpuMs = paths.functionCpuMs['invoke-model'] ?? 0;
  return [128, 256, 512].map((mb) => {
    const share = FULL_VCPU_MB / mb;
    const at = (latency: number) =>
      MILLION * (mb / 1024) * (durationMs(cpuMs, mb, latency) / 1000) * PRICES.lambdaArmPerGbSecond;
    const initMs = cold.bundledInitCpuMs * share;
    return {
      mb,
      warmCpuMs: cpuMs * share,
      initMs,
      // A cold start's init, billed like duration: CPU-bound work costs the same GB-seconds at any size.
      initUsdPerMillionColdStarts: MILLION * (mb / 1024) * (initMs / 1000) * PRICES.lambdaArmPerGbSecond,
      fits: cold.bundledRssMiB < mb * 0.8,
      usdAt: SCENARIOS.map((s) => at(s.modelLatencyMs)),
    };
  });
}

async function main(): Promise<void> {
  const config = loadConfig('cost-sentry.config.json');
  const paths = await measureRequestPaths(config, 200);
  const [cold] = await measureColdStarts(config, 5, ['invoke-model']);
  if (!cold) throw new Error('no cold start measured for invoke-model');

  const success = paths.success.logBytes;
  const beforeLogBytes =
    BEFORE_LOG_BYTES.application +
    BEFORE_LOG_BYTES.lambdaPlatform +
    BEFORE_LOG_BYTES.stepFunctions +
    BEFORE_LOG_BYTES.apiGatewayAccess;
  const tradeOff = memoryTradeOff(paths, cold);
  const chosen = tradeOff.find((t) => t.mb === 128 && t.fits) ?? tradeOff[1];
  const chosenMb = chosen?.mb ?? DEPLOYED_MB;

  const lines: string[] = [
    `Cost Sentry's own AWS cost per million successful requests (list prices ${PRICES.date}, us-east-1)`,
    '',
    `Measured in this run (CPU per step on one local core, DynamoDB and the simulator in another process):`,
    `  CPU ms per call: ${Object.entries(paths.functionCpuMs)
      .map(([f, ms]) => `${f} ${ms}`)
      .join(', ')}`,
    `  DynamoDB: ${paths.success.readUnits} read + ${paths.success.writeUnits} write units a success`,
    `  log bytes a success: ${success.total} (${success.application} metric and audit, ${success.accessLog} access log, ` +
      `${success.stateMachine} state machine, 0 Lambda platform)`,
    `  InvokeModel bundle: init ${cold.bundledInitCpuMs} CPU ms, ${cold.bundledRssMiB} MiB resident after import`,
    `Model: a function's duration at M MB = its CPU ms x ${FULL_VCPU_MB}/M (Lambda's CPU share) + ${DYNAMO_ROUND_TRIP_MS} ms a DynamoDB call` +
      ` + the model's answer for InvokeModel; ${STATE_OVERHEAD_MS} ms of Step Functions per state.`,
    '',
    `InvokeModel's memory, measured trade-off (cold init = its init CPU x CPU share, an upper bound):`,
    '    MB  warm CPU ms  cold init ms  init $ per M cold starts  fits  duration $/M at 0.7 s  at 6 s',
    ...tradeOff.map(
      (t) =>
        `  ${String(t.mb).padStart(4)}  ${t.warmCpuMs.toFixed(1).padStart(11)}  ${t.initMs.toFixed(0).padStart(12)}` +
        `  ${usd(t.initUsdPerMillionColdStarts).padStart(24)}  ${(t.fits ? 'yes' : 'no').padStart(4)}` +
        `  ${usd(t.usdAt[0] ?? 0).padStart(21)}  ${usd(t.usdAt[1] ?? 0).padStart(6)}`,
    ),
    `  Chosen: ${chosenMb} MB. InvokeModel waits for the model; the wait costs in proportion to memory and`,
    `  does not go faster with more CPU. CPU-bound init costs the same at any size; it takes longer.`,
    '',
  ];

  const xrayDefault = xrayShareAt(REQUESTS_PER_SECOND);
  const before: Settings = { logBytes: beforeLogBytes, invokeModelMb: DEPLOYED_MB, xrayShare: xrayDefault };
  const steps: Array<{ name: string; settings: Settings; status: string }> = [
    {
      name: 'Lambda system log level WARN (no START/END/REPORT)',
      settings: { ...before, logBytes: before.logBytes - BEFORE_LOG_BYTES.lambdaPlatform },
      status: 'built',
    },
    {
      name: 'Express logging at ERROR (success logs nothing)',
      settings: {
        ...before,
        logBytes: before.logBytes - BEFORE_LOG_BYTES.lambdaPlatform - BEFORE_LOG_BYTES.stepFunctions,
      },
      status: 'built (the ALL option needs the stack to pass it: asked)',
    },
    {
      name: 'one EMF line and a compact audit line; access log rendered',
      settings: { ...before, logBytes: success.total },
      status: 'built',
    },
    {
      name: `InvokeModel at ${chosenMb} MB`,
      settings: { ...before, logBytes: success.total, invokeModelMb: chosenMb },
      status: 'measured; the stack sets the memory: asked',
    },
    {
      name: 'X-Ray: a 5% sampling rule, no reservoir',
      settings: {
        ...before,
        logBytes: success.total,
        invokeModelMb: chosenMb,
        xrayShare: XRAY_PROPOSED_RATE,
      },
      status: 'proposed: a sampling rule in the stack',
    },
  ];

  const results = [];
  for (const scenario of SCENARIOS) {
    const price = config.prices.at(-1)?.models[scenario.model];
    if (!price) throw new Error(`no price for ${scenario.model}`);
    const bedrock = (MILLION * (INPUT_TOKENS * price.inputPer1k + OUTPUT_TOKENS * price.outputPer1k)) / 1000;
    const start = costOf(paths, scenario.modelLatencyMs, before);
    lines.push(
      `${scenario.label}: ${INPUT_TOKENS} input + ${OUTPUT_TOKENS} output tokens, model answering in ${scenario.modelLatencyMs} ms` +
        ` (target: at most ${usd(scenario.targetUsd)})`,
      `  before: ${usd(start.total)}  (logs ${beforeLogBytes} bytes a request, InvokeModel ${DEPLOYED_MB} MB, ` +
        `X-Ray's default rule at ${REQUESTS_PER_SECOND} requests/s: ${(100 * xrayDefault).toFixed(1)}% traced)`,
    );
    let previous = start.total;
    let last = start;
    for (const step of steps) {
      const now = costOf(paths, scenario.modelLatencyMs, step.settings);
      lines.push(
        `  ${step.name.padEnd(60)} ${usd(previous).padStart(7)} -> ${usd(now.total).padStart(7)}  [${step.status}]`,
      );
      previous = now.total;
      last = now;
    }
    lines.push('  after, by item:');
    for (const [name, value] of Object.entries(last.items))
      lines.push(`    ${name.padEnd(40)} ${usd(value).padStart(9)}`);
    lines.push(
      `    ${'sentry total'.padEnd(40)} ${usd(last.total).padStart(9)}  (${last.total <= scenario.targetUsd ? 'meets' : 'misses'} the target)`,
      `    ${'Bedrock for the same requests'.padEnd(40)} ${usd(bedrock).padStart(9)}`,
      `    overhead: ${((100 * last.total) / bedrock).toFixed(1)}% of the Bedrock bill (before: ${((100 * start.total) / bedrock).toFixed(1)}%)`,
      '',
    );
    results.push({ scenario: scenario.label, before: start.total, after: last.total, items: last.items });
  }

  lines.push(
    `X-Ray at the default rule, by steady request rate: ${[1, 10, 100]
      .map((rps) => `${rps}/s ${usd(xrayShareAt(rps) * PRICES.xrayPerMillionTracesRecorded)}`)
      .join(
        ', ',
      )} per million; with the proposed rule ${usd(XRAY_PROPOSED_RATE * PRICES.xrayPerMillionTracesRecorded)} at any rate.`,
    `Failure paths ingest more: budget refused ${paths.budgetRefused.logBytes.total} bytes, model error ${paths.modelError.logBytes.total} ` +
      `(the Node.js runtime's error report of the function that threw: ${paths.budgetRefused.logBytes.runtimeErrors} and ${paths.modelError.logBytes.runtimeErrors}).`,
  );
  // Custom metrics are billed per metric stream a month, not per request.
  const streams = 5 * (3 + 10 + 6 + 1) + 2 * (8 + 3 + 1) + 3;
  lines.push(
    `Custom metrics: billed per stream a month, not per request. With 3 cost centers, 10 application/environment pairs,`,
    `6 models and 8 error codes, about ${streams} streams: ${usd(streams * PRICES.customMetricPerMonth)} a month.`,
  );
  lines.push('', ...hotCostCenterLines());
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`cost-model: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
