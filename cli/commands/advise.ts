import { writeFileSync } from 'node:fs';
import { reportHtml, type SpendReport } from '../../lib/report/html.ts';
import { type Column, type Format, render, usd } from '../format.ts';
import type { CommandContext } from './command.ts';

const adviceColumns: Column[] = [
  { key: 'kind', header: 'LEVER' },
  { key: 'costCenter', header: 'COST CENTER' },
  { key: 'applicationId', header: 'APPLICATION' },
  { key: 'modelId', header: 'MODEL' },
  { key: 'monthlySavingUsd', header: 'SAVING/MONTH', format: usd },
  { key: 'action', header: 'ACTION' },
];

/**
 * `advise`: the advisor's recommendations for a period, biggest saving first; `--format html`
 * writes the spend report page with its Advice panel.
 */
export async function advise(
  { api, values }: Omit<CommandContext, 'format'>,
  format: Format | 'html',
): Promise<string> {
  const query = {
    period: values.period as string | undefined,
    costCenter: values['cost-center'] as string | undefined,
  };
  const body = await api('GET', '/v1/advice', query);
  const recommendations = (body.recommendations ?? []) as Array<Record<string, unknown>>;
  let out: string;
  if (format === 'html') {
    const report = await api('GET', '/v1/report', query);
    out = reportHtml({
      ...(report as unknown as SpendReport),
      advice: body as unknown as SpendReport['advice'],
    });
  } else {
    out = render(format, recommendations, adviceColumns, body);
  }
  const output = values.output as string | undefined;
  if (output) {
    writeFileSync(output, out);
    return `Advice written to ${output}`;
  }
  if (format !== 'table') return out;
  const evidence = recommendations.map((r, i) => `  ${i + 1}. ${r.evidence}`).join('\n');
  return (
    `Advice for ${body.period} (thresholds and prices as of ${body.asOf})\n\n${out}\n\n` +
    `Estimated saving: ${usd(body.totalMonthlySavingUsd)} a month${scaledFrom(body.daysOfData)}\n${evidence ? `\nEvidence:\n${evidence}` : ''}`
  );
}

/** How the monthly figures were scaled, when the server says (one that predates `daysOfData` does not). */
function scaledFrom(days: unknown): string {
  if (typeof days !== 'number' || days < 1) return '';
  return ` (${days === 1 ? 'one day' : `${days} days`} of traffic scaled to 30)`;
}
