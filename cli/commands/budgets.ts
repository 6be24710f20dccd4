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
  { key: 'source', header: 'SOURCE' },
];

/** A budget row flattened for table and CSV output (the forecast's fields inline). */
function budgetRow(budget: Record<string, unknown>): Record<string, unknown> {
  const forecast = (budget.forecast ?? {}) as Record<string, unknown>;
  return { ...budget, ...forecast };
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
  return {
    period: values.period,
    ...(limitUsd !== undefined ? { limitUsd: numberOption('limit-usd', limitUsd) } : {}),
    ...(limitTokens !== undefined ? { limitTokens: numberOption('limit-tokens', limitTokens) } : {}),
    ...(thresholds ? { alertThresholds: thresholds } : {}),
  };
}
