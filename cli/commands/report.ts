import { writeFileSync } from 'node:fs';
import { reportHtml, type SpendReport } from '../../lib/report/html.ts';
import { type Column, type Format, render, usd } from '../format.ts';
import { type CommandContext, UsageError } from './command.ts';

/** The report's field for each `--by` dimension. */
const REPORT_FIELDS: Record<string, string> = {
  costCenter: 'byCostCenter',
  application: 'byApplication',
  environment: 'byEnvironment',
  model: 'byModel',
};

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

/** A table's heading and total line around it. */
const framed = (title: string, table: string, total: { costUsd?: unknown; requests?: unknown }) =>
  `${title}\n\n${table}\n\nTotal: ${usd(total.costUsd)} over ${total.requests} requests`;

/** `report`: a period's spend by one dimension, or (`--format html`) one page with charts. */
export async function report(
  { api, values }: Omit<CommandContext, 'format'>,
  format: Format | 'html',
): Promise<string> {
  const by = (values.by as string | undefined) ?? 'costCenter';
  const body = await api('GET', '/v1/report', {
    period: values.period as string | undefined,
    costCenter: values['cost-center'] as string | undefined,
  });
  const field = Object.hasOwn(REPORT_FIELDS, by) ? REPORT_FIELDS[by] : undefined;
  if (!field) throw new UsageError(`--by must be one of ${Object.keys(REPORT_FIELDS).join(', ')}`);
  const out =
    format === 'html'
      ? reportHtml(body as unknown as SpendReport)
      : render(format, (body[field] ?? []) as Array<Record<string, unknown>>, usageColumns(by), body);
  const output = values.output as string | undefined;
  if (output) {
    writeFileSync(output, out);
    return `Report written to ${output}`;
  }
  return format === 'table'
    ? framed(`Spend in ${body.period} by ${by}`, out, body.total as Record<string, unknown>)
    : out;
}

/** `usage`: spend from the daily aggregates, by one dimension. */
export async function usage({ api, format, values }: CommandContext): Promise<string> {
  const by = (values.by as string | undefined) ?? 'costCenter';
  const body = await api('GET', '/v1/usage', {
    period: values.period as string | undefined,
    by,
    costCenter: values['cost-center'] as string | undefined,
  });
  const rows = (body.rows ?? []) as Array<Record<string, unknown>>;
  const out = render(format, rows, usageColumns(by), body);
  return format === 'table'
    ? framed(`Usage in ${body.period} by ${body.by}`, out, (body.total ?? {}) as Record<string, unknown>)
    : out;
}
