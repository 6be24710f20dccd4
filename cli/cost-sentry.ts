#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { PERIODS } from '../lambdas/shared/rules/period.ts';
import { CliError, LOCAL_ENDPOINT } from './client.ts';
import { advise } from './commands/advise.ts';
import { budgets } from './commands/budgets.ts';
import { apiOf, type CommandContext, UsageError } from './commands/command.ts';
import { invoke } from './commands/invoke.ts';
import { keys } from './commands/keys.ts';
import { report, usage } from './commands/report.ts';
import { FORMATS, type Format } from './format.ts';

const HELP = `Usage: cost-sentry <group> <command> [options]

Budgets (platform teams):
  budgets list                                  every budget with this period's figures
  budgets get <costCenter> [--application ID]   one budget, with its forecast
  budgets set <costCenter> [--application ID] --period ${PERIODS.join('|')}
              [--limit-usd N] [--limit-tokens N] [--thresholds 0.5,0.8,1]
              [--rpm N] [--tpm N] [--clamp-min N]
              [--policy downgrade:0.8:FROM:TO] [--policy deny:0.95:MODEL[,MODEL]]
              [--cache-ttl SECONDS [--cache-any-temperature]] [--expected-rps N]
                                                create or change a budget (takes effect on the next request):
                                                rate limits per UTC minute, max_tokens clamped to fit (down
                                                to N), policies checked in order (repeat --policy), and the
                                                response cache (temperature 0 answers, unless any temperature);
                                                --expected-rps splits the counter into shards for that rate
  budgets delete <costCenter> [--application ID]
                                                delete a budget (a cost center's takes its applications' with it)
Calls (applications):
  invoke --cost-center CC --application ID --environment ENV [--model nova-lite] [--max-tokens N] "prompt"
                                                one POST /v1/invoke; prints the answer, its cost and the budget

API keys (platform teams; used when invoke runs in API-key mode):
  keys create --cost-centers CC[,CC] [--applications ID,..] [--environments ENV,..] [--description TEXT]
                                                a new key, bound to those tags; the key is shown this once
  keys list                                     every key (never the keys themselves)
  keys revoke <keyId>                           revoke a key at once

Reports (finance):
  report [--period 2026-11] [--by costCenter|application|environment|model] [--cost-center CC]
         [--format table|csv|json|html] [--output FILE]
                                                the period's spend; html is one self-contained page with charts

Advice (platform teams, finance):
  advise [--period 2026-11] [--cost-center CC] [--format table|csv|json|html] [--output FILE]
                                                what a cheaper tier, batch, Legacy migrations or provisioned
                                                throughput would save a month, with evidence and an action

Usage (finance):
  usage [--period 2026-11|2026-11-23] [--by costCenter|application|environment|model] [--cost-center CC]
                                                spend from the daily aggregates (default: this month, by cost center)

Options:
  --endpoint URL     the sentry (default: $COST_SENTRY_ENDPOINT or ${LOCAL_ENDPOINT}, the local stack);
                     a deployed stack's URL (https://ID.execute-api.REGION.amazonaws.com/prod) is called
                     with SigV4 from the normal AWS credential chain
  --region REGION    for SigV4, when the endpoint's host name does not say
  --admin-token T    bearer token for the local stack's admin API (default: $COST_SENTRY_ADMIN_TOKEN)
  --format F         table (default), json or csv
  -h, --help         this help
`;

/** Each group's command; `report` is apart, for its extra format. */
const GROUPS = new Map<string, (context: CommandContext) => Promise<string>>([
  ['budgets', budgets],
  ['keys', keys],
  ['invoke', invoke],
  ['usage', usage],
]);

async function run(argv: string[]): Promise<string> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      endpoint: { type: 'string' },
      region: { type: 'string' },
      'admin-token': { type: 'string' },
      format: { type: 'string', default: 'table' },
      application: { type: 'string' },
      period: { type: 'string' },
      'limit-usd': { type: 'string' },
      'limit-tokens': { type: 'string' },
      thresholds: { type: 'string' },
      rpm: { type: 'string' },
      tpm: { type: 'string' },
      'clamp-min': { type: 'string' },
      'cache-ttl': { type: 'string' },
      'expected-rps': { type: 'string' },
      'cache-any-temperature': { type: 'boolean', default: false },
      policy: { type: 'string', multiple: true },
      by: { type: 'string' },
      'cost-center': { type: 'string' },
      model: { type: 'string', default: 'nova-lite' },
      environment: { type: 'string' },
      'max-tokens': { type: 'string' },
      'cost-centers': { type: 'string' },
      applications: { type: 'string' },
      environments: { type: 'string' },
      description: { type: 'string' },
      output: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [group, ...args] = positionals;
  if (values.help || !group) return HELP;
  const formats: readonly string[] =
    group === 'report' || group === 'advise' ? [...FORMATS, 'html'] : FORMATS;
  if (!formats.includes(values.format)) throw new UsageError(`--format must be one of ${formats.join(', ')}`);
  const api = apiOf({
    endpoint: values.endpoint ?? process.env.COST_SENTRY_ENDPOINT ?? LOCAL_ENDPOINT,
    adminToken: values['admin-token'] ?? process.env.COST_SENTRY_ADMIN_TOKEN,
    region: values.region,
  });
  if (group === 'report') return report({ api, values, args }, values.format as Format | 'html');
  if (group === 'advise') return advise({ api, values, args }, values.format as Format | 'html');
  const command = GROUPS.get(group);
  if (!command) throw new UsageError(`unknown group '${group}'; see --help`);
  return command({ api, format: values.format as Format, values, args });
}

run(process.argv.slice(2)).then(
  (output) => {
    process.stdout.write(`${output}\n`);
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`cost-sentry: ${error.message}\n`);
      process.exit(error instanceof UsageError ? 2 : 1);
    }
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`cost-sentry: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`cost-sentry: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
