#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PERIODS } from '../lambdas/shared/rules/period.ts';
import { reportHtml, type SpendReport } from '../lib/report/html.ts';
import { CliError, type ClientOptions, callApi, LOCAL_ENDPOINT } from './client.ts';
import { type Column, FORMATS, type Format, percent, render, usd } from './format.ts';

const HELP = `Usage: cost-sentry <group> <command> [options]

Budgets (platform teams):
  budgets list                                  every budget with this period's figures
  budgets get <costCenter> [--application ID]   one budget, with its forecast
  budgets set <costCenter> [--application ID] --period ${PERIODS.join('|')}
              [--limit-usd N] [--limit-tokens N] [--thresholds 0.5,0.8,1]
                                                create or change a budget (takes effect on the next request)
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

const budgetColumns: Column[] = [
  { key: 'costCenter', header: 'COST CENTER' },
  { key: 'applicationId', header: 'APPLICATION' },
  { key: 'period', header: 'PERIOD' },
  { key: 'periodKey', header: 'KEY' },
  { key: 'limitUsd', header: 'LIMIT', format: usd },
  { key: 'spentUsd', header: 'SPENT', format: usd },
  { key: 'reservedUsd', header: 'RESERVED', format: usd },
  { key: 'remainingUsd', header: 'REMAINING', format: usd },
  { key: 'limitTokens', header: 'TOKEN LIMIT' },
  { key: 'spentTokens', header: 'TOKENS' },
  { key: 'utilization', header: 'USED', format: percent },
  { key: 'projectedSpendUsd', header: 'PROJECTED', format: usd },
  { key: 'projectedRunOutAt', header: 'RUNS OUT' },
  { key: 'resetsAt', header: 'RESETS' },
  { key: 'source', header: 'SOURCE' },
];

const usageColumns = (by: string): Column[] => [
  ...(by === 'costCenter' || by === 'application' ? [{ key: 'costCenter', header: 'COST CENTER' }] : []),
  ...(by === 'application' ? [{ key: 'applicationId', header: 'APPLICATION' }] : []),
  ...(by === 'environment' ? [{ key: 'environment', header: 'ENVIRONMENT' }] : []),
  ...(by === 'model' ? [{ key: 'modelId', header: 'MODEL' }] : []),
  { key: 'requests', header: 'REQUESTS' },
  { key: 'inputTokens', header: 'INPUT TOKENS' },
  { key: 'outputTokens', header: 'OUTPUT TOKENS' },
  { key: 'costUsd', header: 'COST', format: usd },
];

/** A budget row flattened for table and CSV output (the forecast's fields inline). */
function budgetRow(budget: Record<string, unknown>): Record<string, unknown> {
  const forecast = (budget.forecast ?? {}) as Record<string, unknown>;
  return { ...budget, ...forecast };
}

class UsageError extends CliError {}

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, not '${value}'`);
  return n;
}

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
  const [group, command, target] = positionals;
  if (values.help || !group) return HELP;
  const format = values.format as Format | 'html';
  const formats: readonly string[] = group === 'report' ? [...FORMATS, 'html'] : FORMATS;
  if (!formats.includes(format)) throw new UsageError(`--format must be one of ${formats.join(', ')}`);
  const client: ClientOptions = {
    endpoint: values.endpoint ?? process.env.COST_SENTRY_ENDPOINT ?? LOCAL_ENDPOINT,
    adminToken: values['admin-token'] ?? process.env.COST_SENTRY_ADMIN_TOKEN,
    region: values.region,
  };
  const api = async (
    method: string,
    path: string,
    query?: Record<string, string | undefined>,
    body?: unknown,
  ) => {
    const answer = await callApi(client, method, path, query, body);
    if (answer.status >= 400)
      throw new CliError(describeError(answer.status, answer.body, answer.retryAfter));
    return answer.body as Record<string, unknown>;
  };

  if (group === 'invoke') return invoke(api, format, values, positionals.slice(1).join(' '));
  if (group === 'keys') return keys(api, format, values, command, target);
  if (group === 'report') {
    const by = values.by ?? 'costCenter';
    const body = await api('GET', '/v1/report', { period: values.period, costCenter: values['cost-center'] });
    const field = {
      costCenter: 'byCostCenter',
      application: 'byApplication',
      environment: 'byEnvironment',
      model: 'byModel',
    }[by];
    if (!field) throw new UsageError('--by must be one of costCenter, application, environment, model');
    const out =
      format === 'html'
        ? reportHtml(body as unknown as SpendReport)
        : render(
            format === 'csv' ? 'csv' : format === 'json' ? 'json' : 'table',
            (body[field] ?? []) as Array<Record<string, unknown>>,
            usageColumns(by),
            body,
          );
    if (values.output) {
      writeFileSync(values.output, out);
      return `Report written to ${values.output}`;
    }
    const total = body.total as { costUsd: number; requests: number };
    return format === 'table'
      ? `Spend in ${body.period} by ${by}\n\n${out}\n\nTotal: ${usd(total.costUsd)} over ${total.requests} requests`
      : out;
  }

  if (group === 'usage') {
    const by = values.by ?? 'costCenter';
    const body = await api('GET', '/v1/usage', {
      period: values.period,
      by,
      costCenter: values['cost-center'],
    });
    const rows = (body.rows ?? []) as Array<Record<string, unknown>>;
    const total = (body.total ?? {}) as Record<string, unknown>;
    const out = render(format, rows, usageColumns(by), body);
    return format === 'table'
      ? `Usage in ${body.period} by ${body.by}\n\n${out}\n\nTotal: ${usd(total.costUsd)} over ${total.requests} requests`
      : out;
  }
  if (group !== 'budgets') throw new UsageError(`unknown group '${group}'; see --help`);

  const scopePath = () => {
    if (!target) throw new UsageError(`budgets ${command} needs a cost center`);
    const base = `/v1/budgets/${encodeURIComponent(target)}`;
    return values.application ? `${base}/applications/${encodeURIComponent(values.application)}` : base;
  };
  switch (command) {
    case 'list': {
      const body = await api('GET', '/v1/budgets');
      const budgets = (body.budgets ?? []) as Array<Record<string, unknown>>;
      return render(format, budgets.map(budgetRow), budgetColumns, body);
    }
    case 'get': {
      const body = await api('GET', scopePath());
      return render(format, [budgetRow(body)], budgetColumns, body);
    }
    case 'set': {
      if (!values.period) throw new UsageError(`budgets set needs --period ${PERIODS.join(' or ')}`);
      const thresholds = values.thresholds
        ?.split(',')
        .map((t) => numberOption('thresholds', t.trim()) as number);
      const body = await api('PUT', scopePath(), undefined, {
        period: values.period,
        ...(values['limit-usd'] !== undefined
          ? { limitUsd: numberOption('limit-usd', values['limit-usd']) }
          : {}),
        ...(values['limit-tokens'] !== undefined
          ? { limitTokens: numberOption('limit-tokens', values['limit-tokens']) }
          : {}),
        ...(thresholds ? { alertThresholds: thresholds } : {}),
      });
      return render(format, [budgetRow(body)], budgetColumns, body);
    }
    case 'delete': {
      await api('DELETE', scopePath());
      const what = values.application
        ? `application '${values.application}' in cost center '${target}'`
        : `cost center '${target}'`;
      return format === 'json' ? JSON.stringify({ deleted: true }) : `Deleted the budget of ${what}.`;
    }
    default:
      throw new UsageError(`unknown command 'budgets ${command ?? ''}'; see --help`);
  }
}

const keyColumns: Column[] = [
  { key: 'keyId', header: 'KEY ID' },
  { key: 'costCenters', header: 'COST CENTERS' },
  { key: 'applicationIds', header: 'APPLICATIONS' },
  { key: 'environments', header: 'ENVIRONMENTS' },
  { key: 'description', header: 'DESCRIPTION' },
  { key: 'createdAt', header: 'CREATED' },
];

const joined = (row: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, Array.isArray(v) ? v.join(' ') : v === null ? '*' : v]),
  );

async function keys(
  api: Api,
  format: Format,
  values: Record<string, string | boolean | undefined>,
  command: string | undefined,
  target: string | undefined,
): Promise<string> {
  const split = (name: string) =>
    (values[name] as string | undefined)
      ?.split(',')
      .map((v) => v.trim())
      .filter(Boolean);
  switch (command) {
    case 'create': {
      const costCenters = split('cost-centers');
      if (!costCenters?.length) throw new UsageError('keys create needs --cost-centers');
      const body = await api('POST', '/v1/keys', undefined, {
        costCenters,
        ...(split('applications') ? { applicationIds: split('applications') } : {}),
        ...(split('environments') ? { environments: split('environments') } : {}),
        ...(values.description ? { description: values.description } : {}),
      });
      if (format !== 'table')
        return render(format, [joined(body)], [...keyColumns, { key: 'apiKey', header: 'API KEY' }], body);
      return `${render(format, [joined(body)], keyColumns, body)}\n\nAPI key (shown only this once; store it now):\n${body.apiKey}`;
    }
    case 'list': {
      const body = await api('GET', '/v1/keys');
      return render(
        format,
        ((body.keys ?? []) as Array<Record<string, unknown>>).map(joined),
        keyColumns,
        body,
      );
    }
    case 'revoke': {
      if (!target) throw new UsageError('keys revoke needs a key ID');
      await api('DELETE', `/v1/keys/${encodeURIComponent(target)}`);
      return format === 'json' ? JSON.stringify({ revoked: true }) : `Revoked key ${target}.`;
    }
    default:
      throw new UsageError(`unknown command 'keys ${command ?? ''}'; see --help`);
  }
}

type Api = (
  method: string,
  path: string,
  query?: Record<string, string | undefined>,
  body?: unknown,
) => Promise<Record<string, unknown>>;

/** One POST /v1/invoke: the answer, its cost and the budget after it. */
async function invoke(
  api: Api,
  format: Format,
  values: Record<string, string | boolean | undefined>,
  prompt: string,
): Promise<string> {
  if (!prompt) throw new UsageError('invoke needs the prompt text');
  const missing = ['cost-center', 'application', 'environment'].filter((k) => !values[k]);
  if (missing.length > 0) throw new UsageError(`invoke needs ${missing.map((k) => `--${k}`).join(', ')}`);
  const maxTokens = numberOption('max-tokens', values['max-tokens'] as string | undefined);
  const body = await api('POST', '/v1/invoke', undefined, {
    model: values.model,
    prompt: {
      messages: [{ role: 'user', content: prompt }],
      ...(maxTokens ? { parameters: { max_tokens: maxTokens } } : {}),
    },
    tags: {
      applicationId: values.application,
      costCenter: values['cost-center'],
      environment: values.environment,
    },
  });
  if (format === 'json') return JSON.stringify(body, null, 2);
  const usage = body.usage as { inputTokens: number; outputTokens: number };
  const row = {
    requestId: body.requestId,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    costUsd: (body.cost as { usd: number }).usd,
    ...(body.budget as Record<string, unknown>),
  };
  const columns: Column[] = [
    { key: 'requestId', header: 'REQUEST' },
    { key: 'inputTokens', header: 'IN' },
    { key: 'outputTokens', header: 'OUT' },
    { key: 'costUsd', header: 'COST', format: usd },
    { key: 'spentUsd', header: 'SPENT', format: usd },
    { key: 'remainingUsd', header: 'REMAINING', format: usd },
  ];
  const table = render(format, [row], columns, body);
  return format === 'csv' ? table : `${(body.output as { content: string }).content}\n\n${table}`;
}

/** An API error as one readable block: code, status, message and each detail. */
export function describeError(status: number, body: unknown, retryAfter?: number): string {
  const error = (
    body as {
      error?: { code?: string; message?: string; details?: Array<{ path: string; message: string }> };
    }
  )?.error;
  if (!error) return `the sentry answered HTTP ${status}`;
  const details = (error.details ?? []).map((d) => `\n  ${d.path}: ${d.message}`).join('');
  const retry = retryAfter === undefined ? '' : `\n  Retry-After: ${retryAfter} seconds`;
  return `${error.code} (HTTP ${status}): ${error.message}${details}${retry}`;
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
