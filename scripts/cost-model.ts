/**
 * npm run cost-model: what the sentry itself costs on AWS per million requests, from the
 * synthesized template (memory sizes), the request paths measured locally (DynamoDB units, function
 * times, log bytes) and the list prices below, beside the Bedrock cost of the same request.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../lib/app.ts';
import { loadConfig } from '../lib/config/schema.ts';
import { measureRequestPaths } from './measure.ts';

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
  customMetricPerMonth: 0.3,
} as const;

/** Log bytes a request writes that the local run cannot see (estimates, not measurements). */
const ESTIMATED_LOG_BYTES = {
  lambdaPlatform: 4 * 3 * 250, // START, END and REPORT for each of the four function calls
  stepFunctions: 12 * 350, // execution and state events, level ALL, without execution data
  apiGatewayAccess: 600,
};

/** A DynamoDB call from a Lambda on AWS: added to each function's local time. */
const DYNAMO_ROUND_TRIP_MS = 8;

/** Two typical requests: 500 input and 300 output tokens, and how long the model takes to answer. */
const SCENARIOS = [
  { model: 'amazon.nova-micro-v1:0', label: 'Nova Micro', modelLatencyMs: 700 },
  { model: 'global.anthropic.claude-sonnet-4-6', label: 'Claude Sonnet 4.6', modelLatencyMs: 6000 },
];
const INPUT_TOKENS = 500;
const OUTPUT_TOKENS = 300;

const HANDLER_TO_LOGICAL: Record<string, string> = {
  'validate-request': 'ValidateRequest',
  'reserve-budget': 'ReserveBudget',
  'invoke-model': 'InvokeModel',
  'settle-usage': 'SettleUsage',
};

async function main(): Promise<void> {
  const config = loadConfig('cost-sentry.config.json');
  const { stack } = createApp(config, { appProps: { context: { 'aws:cdk:bundling-stacks': [] } } });
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const memoryOf = (name: string) => {
    const entry = Object.entries(functions).find(([id]) => id.startsWith(`${name}Function`));
    return Number(entry?.[1].Properties.MemorySize ?? 128);
  };

  const paths = await measureRequestPaths(config, 200);
  const dynamoCallsOf = (handler: string) =>
    handler === 'reserve-budget' ? 2 : handler === 'settle-usage' ? 2 : 0; // success path, per the counts above
  const logBytes =
    paths.logBytesPerRequest +
    ESTIMATED_LOG_BYTES.lambdaPlatform +
    ESTIMATED_LOG_BYTES.stepFunctions +
    ESTIMATED_LOG_BYTES.apiGatewayAccess;

  const lines: string[] = [
    `Cost Sentry's own AWS cost per million requests (list prices ${PRICES.date}, us-east-1), success path`,
    `Measured locally: function times ${JSON.stringify(paths.functionMs)} ms, ` +
      `DynamoDB ${paths.success.readUnits} read + ${paths.success.writeUnits} write units, ` +
      `${paths.logBytesPerRequest} log bytes of metrics and audit (plus ${logBytes - paths.logBytesPerRequest} estimated platform log bytes).`,
    `Each function's local time gets ${DYNAMO_ROUND_TRIP_MS} ms per DynamoDB call; InvokeModel also waits for the model.`,
    '',
  ];
  const results = [];
  for (const scenario of SCENARIOS) {
    const price = config.prices.at(-1)?.models[scenario.model];
    if (!price) throw new Error(`no price for ${scenario.model}`);
    const bedrockPerRequest = (INPUT_TOKENS * price.inputPer1k + OUTPUT_TOKENS * price.outputPer1k) / 1000;

    let lambdaGbSeconds = 0;
    let executionMs = 0;
    for (const [handler, logical] of Object.entries(HANDLER_TO_LOGICAL)) {
      const local = paths.functionMs[handler] ?? 0;
      const ms = Math.ceil(
        local +
          dynamoCallsOf(handler) * DYNAMO_ROUND_TRIP_MS +
          (handler === 'invoke-model' ? scenario.modelLatencyMs : 0),
      );
      lambdaGbSeconds += (memoryOf(logical) / 1024) * (ms / 1000);
      executionMs += ms + 25; // Step Functions' own transition overhead per state, roughly
    }
    const million = 1_000_000;
    const components = {
      'API Gateway (REST)': PRICES.apiGatewayRestPerMillion,
      'Step Functions Express requests': PRICES.stepFunctionsExpressPerMillionRequests,
      'Step Functions Express duration (64 MB)':
        million * (64 / 1024) * (Math.ceil(executionMs / 100) / 10) * PRICES.stepFunctionsExpressPerGbSecond,
      'Lambda requests (4 calls)': 4 * PRICES.lambdaPerMillionRequests,
      'Lambda duration (arm64)': million * lambdaGbSeconds * PRICES.lambdaArmPerGbSecond,
      'DynamoDB writes': paths.success.writeUnits * PRICES.dynamoWritePerMillionUnits,
      'DynamoDB reads': paths.success.readUnits * PRICES.dynamoReadPerMillionUnits,
      'CloudWatch Logs ingestion': ((million * logBytes) / 1024 ** 3) * PRICES.logsIngestedPerGb,
    };
    const sentry = Object.values(components).reduce((a, b) => a + b, 0);
    const bedrock = million * bedrockPerRequest;
    // What-if: InvokeModel mostly waits for Bedrock, so its memory is the one worth tuning.
    const invokeMs = Math.ceil((paths.functionMs['invoke-model'] ?? 0) + scenario.modelLatencyMs);
    const invokeAt = (mb: number) => million * (mb / 1024) * (invokeMs / 1000) * PRICES.lambdaArmPerGbSecond;
    results.push({
      scenario: scenario.label,
      components,
      sentry,
      bedrock,
      overheadPercent: (100 * sentry) / bedrock,
    });
    lines.push(
      `${scenario.label}: ${INPUT_TOKENS} input + ${OUTPUT_TOKENS} output tokens, model answering in ${scenario.modelLatencyMs} ms`,
    );
    for (const [name, usd] of Object.entries(components))
      lines.push(`  ${name.padEnd(40)} $${usd.toFixed(2).padStart(9)}`);
    lines.push(
      `  ${'sentry total'.padEnd(40)} $${sentry.toFixed(2).padStart(9)}`,
      `  ${'Bedrock for the same requests'.padEnd(40)} $${bedrock.toFixed(2).padStart(9)}`,
      `  overhead: ${((100 * sentry) / bedrock).toFixed(1)}% of the Bedrock bill`,
      `  InvokeModel's Lambda duration: $${invokeAt(memoryOf('InvokeModel')).toFixed(2)} at ${memoryOf('InvokeModel')} MB, ` +
        `$${invokeAt(128).toFixed(2)} at 128 MB (Lambda CPU scales with memory: a cold start's init takes twice as long)`,
      '',
    );
  }
  // Custom metrics are billed per metric stream a month, not per request.
  const streams = 5 * (3 + 10 + 6 + 1) + 2 * (8 + 3 + 1) + 3;
  lines.push(
    `Custom metrics: billed per stream a month, not per request. With 3 cost centers, 10 application/environment pairs,`,
    `6 models and 8 error codes, about ${streams} streams: $${(streams * PRICES.customMetricPerMonth).toFixed(2)} a month.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`cost-model: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
