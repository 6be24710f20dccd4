import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatUsd } from '../lambdas/shared/rules/money.ts';
import { budgetDefinitions, loadConfig } from '../lib/config/schema.ts';
import { LOCAL_STATE_DIR, startLocalStack } from './stack.ts';

const HELP = `Usage: npm start -- [options]

Runs Cost Sentry on this machine: the API on 127.0.0.1, the real state machine and handlers,
an embedded DynamoDB and a Bedrock simulator. No AWS account needed.

Options:
  --port N          port on 127.0.0.1 (default: $PORT or 8787; 0 picks a free one)
  --config FILE     configuration file (default: cost-sentry.config.json)
  --data-dir DIR    keep DynamoDB data on disk in DIR (default: in memory)
  --log-file FILE   where metric and audit lines are written as well (default: ${join(LOCAL_STATE_DIR, 'sentry.log')})
  --quiet           write metric and audit lines only to the log file, not this terminal
  -h, --help        this help

Environment:
  COST_SENTRY_BEDROCK=aws        call real Amazon Bedrock with the normal AWS credential chain and region
  COST_SENTRY_ADMIN_TOKEN=...    require this bearer token on the admin API (/v1/budgets, /v1/usage, /v1/keys)
  COST_SENTRY_AUTH=apikey        require an API key on /v1/invoke (create one with: npx cost-sentry keys create)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      config: { type: 'string', default: 'cost-sentry.config.json' },
      'data-dir': { type: 'string' },
      'log-file': { type: 'string', default: join(LOCAL_STATE_DIR, 'sentry.log') },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const port = Number(values.port ?? process.env.PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`--port must be 0 to 65535, not ${values.port}`);
  const bedrock = process.env.COST_SENTRY_BEDROCK === 'aws' ? 'aws' : 'simulator';
  const auth = process.env.COST_SENTRY_AUTH === 'apikey' ? 'apikey' : 'open';
  if (process.env.COST_SENTRY_AUTH && !['apikey', 'open'].includes(process.env.COST_SENTRY_AUTH)) {
    throw new Error(`COST_SENTRY_AUTH must be 'apikey' or 'open', not '${process.env.COST_SENTRY_AUTH}'`);
  }
  if (process.env.COST_SENTRY_BEDROCK && !['aws', 'simulator'].includes(process.env.COST_SENTRY_BEDROCK)) {
    throw new Error(
      `COST_SENTRY_BEDROCK must be 'aws' or 'simulator', not '${process.env.COST_SENTRY_BEDROCK}'`,
    );
  }

  const config = loadConfig(values.config);
  const stack = await startLocalStack({
    config,
    port,
    bedrock,
    dataPath: values['data-dir'] ? resolve(values['data-dir']) : undefined,
    logFile: resolve(values['log-file']),
    echoLogs: !values.quiet,
    adminToken: process.env.COST_SENTRY_ADMIN_TOKEN || undefined,
    auth,
  });

  const budgets = budgetDefinitions(config)
    .map((b) => {
      const limits = [
        b.limitPico !== undefined ? `$${formatUsd(b.limitPico)}` : undefined,
        b.limitTokens !== undefined ? `${b.limitTokens} tokens` : undefined,
      ].filter(Boolean);
      return `  ${b.costCenter.padEnd(14)} ${limits.join(' and ')} ${b.period}`;
    })
    .join('\n');
  const models = Object.entries(config.models)
    .map(
      ([alias, m]) =>
        `  ${alias.padEnd(20)} ${m.modelId} (max_tokens up to ${m.maxOutputTokens}` +
        `${m.lifecycle.status === 'legacy' ? `; Legacy, end of life ${m.lifecycle.endOfLife}` : ''})`,
    )
    .join('\n');
  const [firstCostCenter = 'support'] = Object.keys(config.budgets);
  const example = JSON.stringify({
    model: Object.keys(config.models)[0] ?? 'nova-lite',
    prompt: { messages: [{ role: 'user', content: 'Hello' }], parameters: { max_tokens: 64 } },
    tags: {
      applicationId: 'my-app',
      costCenter: firstCostCenter,
      environment: config.environments[0] ?? 'dev',
    },
  });
  process.stdout.write(
    [
      `Cost Sentry is running at ${stack.url}`,
      '',
      bedrock === 'aws'
        ? `Bedrock: REAL Amazon Bedrock in ${process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'the default region'} (COST_SENTRY_BEDROCK=aws): calls are billed.`
        : `Bedrock: the built-in simulator at ${stack.runtime.simulator?.endpoint} (set COST_SENTRY_BEDROCK=aws for real Bedrock)`,
      `DynamoDB: embedded, ${values['data-dir'] ? `on disk in ${resolve(values['data-dir'])}` : 'in memory'}`,
      auth === 'apikey'
        ? 'Authentication: /v1/invoke needs an API key (Authorization: Bearer cs_...); create one with npx cost-sentry keys create.'
        : 'Authentication: none on /v1/invoke (any tags allowed); the local stack listens on 127.0.0.1 only. COST_SENTRY_AUTH=apikey turns API keys on.',
      process.env.COST_SENTRY_ADMIN_TOKEN
        ? 'Admin API (/v1/budgets, /v1/usage, /v1/keys): needs the bearer token in COST_SENTRY_ADMIN_TOKEN.'
        : 'Admin API (/v1/budgets, /v1/usage, /v1/keys): open; set COST_SENTRY_ADMIN_TOKEN to require a bearer token.',
      `Metric and audit lines: ${values.quiet ? '' : 'this terminal and '}${stack.logFile}`,
      `Finance dashboard (spend report with charts): ${stack.url}/dashboard`,
      '',
      'Models:',
      models,
      '',
      'Cost centers:',
      budgets,
      '',
      'Try it:',
      `  curl -s ${stack.url}/v1/invoke -H 'content-type: application/json' -d '${example}'`,
      `  npx cost-sentry budgets list --endpoint ${stack.url}`,
      '',
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping Cost Sentry...\n`);
    stack.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`cost-sentry: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
