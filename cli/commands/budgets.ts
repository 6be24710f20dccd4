import { PERIODS } from '../../lambdas/shared/rules/period.ts';
import { type Column, percent, render, usd } from '../format.ts';
import { type CommandContext, numberOption, UsageError } from './command.ts';

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
  { key: 'rpm', header: 'RPM' },
  { key: 'tpm', header: 'TPM' },
  { key: 'thisMinute', header: 'THIS MINUTE' },
  { key: 'fitting', header: 'FIT' },
  { key: 'policyState', header: 'POLICIES' },
  { key: 'caching', header: 'CACHE' },
  { key: 'shards', header: 'SHARDS' },
  { key: 'source', header: 'SOURCE' },
];

interface PolicyView {
  atUtilization: number;
  action: 'downgrade' | 'deny';
  from?: string;
  to?: string;
  models?: string[];
  active?: boolean;
}

/** A policy in one line: `downgrade claude-sonnet->claude-haiku at 80% (active)`. */
function policyText(p: PolicyView): string {
  const what =
    p.action === 'downgrade' ? `downgrade ${p.from}->${p.to}` : `deny ${(p.models ?? []).join(',')}`;
  return `${what} at ${Math.round(p.atUtilization * 1000) / 10}%${p.active ? ' (active)' : ''}`;
}

/** A budget row flattened for table and CSV output (the forecast's, rate limits' and policies' fields inline). */
function budgetRow(budget: Record<string, unknown>): Record<string, unknown> {
  const forecast = (budget.forecast ?? {}) as Record<string, unknown>;
  const rates = budget.rateLimits as { requestsPerMinute?: number; tokensPerMinute?: number } | undefined;
  const window = budget.rateWindow as { requests: number; tokens: number } | undefined;
  const policies = (budget.policies ?? []) as PolicyView[];
  const cache = budget.cache as { ttlSeconds: number; anyTemperature?: boolean } | undefined;
  return {
    ...budget,
    ...forecast,
    rpm: rates?.requestsPerMinute,
    tpm: rates?.tokensPerMinute,
    thisMinute: window ? `${window.requests} req, ${window.tokens} tok` : undefined,
    fitting: budget.fit ? `clamp >= ${budget.minOutputTokens}` : undefined,
    policyState: policies.length ? policies.map(policyText).join('; ') : undefined,
    caching: cache ? `${cache.ttlSeconds}s${cache.anyTemperature ? ', any temperature' : ''}` : undefined,
    shards: (budget.sharding as { shardsThisPeriod?: number } | undefined)?.shardsThisPeriod,
  };
}

/** `--policy downgrade:0.8:FROM:TO` or `--policy deny:0.95:MODEL[,MODEL]` as the API's policy. */
function policyOption(text: string): Record<string, unknown> {
  const [action, at, ...rest] = text.split(':');
  const atUtilization = numberOption('policy', at ?? '');
  if (action === 'downgrade' && rest.length === 2) {
    return { atUtilization, action, from: rest[0], to: rest[1] };
  }
  if (action === 'deny' && rest.length === 1) {
    return { atUtilization, action, models: (rest[0] ?? '').split(',').map((m) => m.trim()) };
  }
  throw new UsageError(
    `--policy ${text}: use downgrade:UTILIZATION:FROM:TO or deny:UTILIZATION:MODEL[,MODEL]`,
  );
}

/** `budgets list|get|set|delete`: the admin API's budget routes. */
export async function budgets({ api, format, values, args }: CommandContext): Promise<string> {
  const [command, target] = args;
  const application = values.application as string | undefined;
  const scopePath = () => {
    if (!target) throw new UsageError(`budgets ${command} needs a cost center`);
    const base = `/v1/budgets/${encodeURIComponent(target)}`;
    return application ? `${base}/applications/${encodeURIComponent(application)}` : base;
  };
  const show = (body: Record<string, unknown>) => render(format, [budgetRow(body)], budgetColumns, body);
  switch (command) {
    case 'list': {
      const body = await api('GET', '/v1/budgets');
      const rows = (body.budgets ?? []) as Array<Record<string, unknown>>;
      return render(format, rows.map(budgetRow), budgetColumns, body);
    }
    case 'get':
      return show(await api('GET', scopePath()));
    case 'set': {
      const body = budgetBody(values);
      return show(await api('PUT', scopePath(), undefined, body));
    }
    case 'delete': {
      await api('DELETE', scopePath());
      const what = application
        ? `application '${application}' in cost center '${target}'`
        : `cost center '${target}'`;
      return format === 'json' ? JSON.stringify({ deleted: true }) : `Deleted the budget of ${what}.`;
    }
    default:
      throw new UsageError(`unknown command 'budgets ${command ?? ''}'; see --help`);
  }
}

/** The PUT body of `budgets set`, from its options; the API checks it. */
function budgetBody(values: CommandContext['values']): Record<string, unknown> {
  if (!values.period) throw new UsageError(`budgets set needs --period ${PERIODS.join(' or ')}`);
  const thresholds = (values.thresholds as string | undefined)
    ?.split(',')
    .map((t) => numberOption('thresholds', t.trim()) as number);
  const limitUsd = values['limit-usd'] as string | undefined;
  const limitTokens = values['limit-tokens'] as string | undefined;
  const rpm = values.rpm as string | undefined;
  const tpm = values.tpm as string | undefined;
  const clampMin = values['clamp-min'] as string | undefined;
  const policies = (values.policy as string[] | undefined)?.map(policyOption);
  const cacheTtl = values['cache-ttl'] as string | undefined;
  const expectedRps = values['expected-rps'] as string | undefined;
  return {
    period: values.period,
    ...(limitUsd !== undefined ? { limitUsd: numberOption('limit-usd', limitUsd) } : {}),
    ...(limitTokens !== undefined ? { limitTokens: numberOption('limit-tokens', limitTokens) } : {}),
    ...(thresholds ? { alertThresholds: thresholds } : {}),
    ...(rpm !== undefined || tpm !== undefined
      ? {
          rateLimits: {
            ...(rpm !== undefined ? { requestsPerMinute: numberOption('rpm', rpm) } : {}),
            ...(tpm !== undefined ? { tokensPerMinute: numberOption('tpm', tpm) } : {}),
          },
        }
      : {}),
    ...(clampMin !== undefined ? { fit: 'clamp', minOutputTokens: numberOption('clamp-min', clampMin) } : {}),
    ...(policies?.length ? { policies } : {}),
    ...(cacheTtl !== undefined
      ? {
          cache: {
            ttlSeconds: numberOption('cache-ttl', cacheTtl),
            ...(values['cache-any-temperature'] === true ? { anyTemperature: true } : {}),
          },
        }
      : {}),
    ...(expectedRps !== undefined
      ? { expectedRequestsPerSecond: numberOption('expected-rps', expectedRps) }
      : {}),
  };
}
