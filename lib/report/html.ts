import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The report the admin API answers for GET /v1/report (the fields the page draws). */
export interface SpendReport {
  period: string;
  generatedAt: string;
  total: { requests: number; costUsd: number; cacheHits?: number; savedUsd?: number };
  byCostCenter: Array<Record<string, unknown> & { costUsd: number }>;
  byApplication: Array<Record<string, unknown> & { costUsd: number }>;
  byEnvironment: Array<Record<string, unknown> & { costUsd: number }>;
  byModel: Array<Record<string, unknown> & { costUsd: number }>;
  daily: Array<{ day: string; costCenter: string; costUsd: number }>;
  budgets: Array<Record<string, unknown>>;
  /** Bedrock's prompt cache: the tokens it read and wrote, and what that saved against plain input. */
  promptCaching?:
    | { cacheReadInputTokens: number; cacheWriteInputTokens: number; savedUsd: number }
    | undefined;
  /** The advisor's recommendations for the period (GET /v1/advice), when the page shows them. */
  advice?:
    | { asOf: string; totalMonthlySavingUsd: number; recommendations: Array<Record<string, unknown>> }
    | undefined;
}

let chartJs: string | undefined;

/** Chart.js's UMD build, inlined so the page needs nothing from the network. */
function chartLibrary(): string {
  if (chartJs === undefined) {
    const main = createRequire(import.meta.url).resolve('chart.js');
    chartJs = readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8');
  }
  return chartJs;
}

const escapeHtml = (value: unknown) =>
  String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON inside a <script> element: `<` escaped so no text can close the element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function table(
  id: string,
  title: string,
  rows: Array<Record<string, unknown>>,
  keys: Array<[string, string]>,
): string {
  const head = keys.map(([, label]) => `<th>${escapeHtml(label)}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${keys
          .map(
            ([key]) =>
              `<td data-key="${key}">${escapeHtml(key === 'costUsd' || key === 'savedUsd' ? `$${row[key]}` : row[key])}</td>`,
          )
          .join('')}</tr>`,
    )
    .join('');
  return `<section><h2>${escapeHtml(title)}</h2><table data-testid="${id}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></section>`;
}

const COUNTS: Array<[string, string]> = [
  ['requests', 'Requests'],
  ['inputTokens', 'Input tokens'],
  ['outputTokens', 'Output tokens'],
  ['rateLimited', 'Rate limited'],
  ['downgrades', 'Downgraded'],
  ['cacheHits', 'Cache hits'],
  ['costUsd', 'Cost'],
  ['savedUsd', 'Saved by the cache'],
];

/** The Advice panel: each recommendation with its monthly saving, evidence and action. */
function adviceSection(report: SpendReport): string {
  if (!report.advice) return '';
  const { advice } = report;
  const rows = advice.recommendations.map((r) => ({ ...r, monthlySavingUsd: `$${r.monthlySavingUsd}` }));
  return `<section data-testid="advice"><h2>Advice</h2>
<p class="muted">Estimated monthly savings at this period's volume: <strong data-testid="advice-total">$${escapeHtml(advice.totalMonthlySavingUsd)}</strong> (thresholds and prices as of ${escapeHtml(advice.asOf)}).</p>
${table('advice-table', 'Recommendations', rows, [
  ['kind', 'Lever'],
  ['costCenter', 'Cost center'],
  ['applicationId', 'Application'],
  ['modelId', 'Model'],
  ['monthlySavingUsd', 'Saving a month'],
  ['evidence', 'Evidence'],
  ['action', 'Action'],
])
  .replace(/^<section><h2>Recommendations<\/h2>/, '')
  .replace(/<\/section>$/, '')}
</section>`;
}

/**
 * The spend report as one self-contained HTML file: three Chart.js charts (spend per day per
 * cost center, share by model, budget use per cost center) and the exact figures as tables, for
 * a reader with no AWS console.
 */
export function reportHtml(report: SpendReport): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cost Sentry spend report ${escapeHtml(report.period)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2433; max-width: 1100px; }
  h1 { margin-bottom: 0.2rem; } .muted { color: #5b6478; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1.5rem; margin: 1.5rem 0; }
  .chart { border: 1px solid #dde1ea; border-radius: 8px; padding: 1rem; } .chart canvas { width: 100%; height: 260px; }
  table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
  th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #e6e9f0; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>Cost Sentry spend report: ${escapeHtml(report.period)}</h1>
<p class="muted">Generated ${escapeHtml(report.generatedAt)} from the sentry's daily usage aggregates.</p>
<p>Total: <strong data-testid="total-cost">$${escapeHtml(report.total.costUsd)}</strong> over
<span data-testid="total-requests">${escapeHtml(report.total.requests)}</span> requests.${
    report.promptCaching
      ? `<br>Prompt caching: ${escapeHtml(report.promptCaching.cacheReadInputTokens)} tokens read from and ${escapeHtml(report.promptCaching.cacheWriteInputTokens)} written to Bedrock's prompt cache, saving <strong data-testid="prompt-caching-saved">$${escapeHtml(report.promptCaching.savedUsd)}</strong> against plain input prices.`
      : ''
  }
The response cache answered <span data-testid="total-cache-hits">${escapeHtml(report.total.cacheHits ?? 0)}</span> of them, charged nothing,
saving <strong data-testid="total-saved">$${escapeHtml(report.total.savedUsd ?? 0)}</strong>.</p>
<div class="charts">
  <div class="chart"><h2>Spend per day per cost center</h2><canvas id="daily" height="260"></canvas></div>
  <div class="chart"><h2>Share by model</h2><canvas id="models" height="260"></canvas></div>
  <div class="chart"><h2>Budget use per cost center</h2><canvas id="budgets" height="260"></canvas></div>
</div>
${table('by-costCenter', 'By cost center', report.byCostCenter, [['costCenter', 'Cost center'], ...COUNTS])}
${table('by-application', 'By application', report.byApplication, [['costCenter', 'Cost center'], ['applicationId', 'Application'], ...COUNTS])}
${table('by-environment', 'By environment', report.byEnvironment, [['environment', 'Environment'], ...COUNTS])}
${table('by-model', 'By model', report.byModel, [['modelId', 'Model'], ...COUNTS])}
${table('budgets', 'Budgets now', report.budgets, [
  ['costCenter', 'Cost center'],
  ['period', 'Period'],
  ['periodKey', 'Key'],
  ['limitUsd', 'Limit (USD)'],
  ['spentUsd', 'Spent (USD)'],
  ['utilization', 'Used (share)'],
])}
${adviceSection(report)}
<script id="report-data" type="application/json">${scriptJson(report)}</script>
<script>${chartLibrary()}</script>
<script>
(function () {
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#2f6fde', '#e8833a', '#3aa76d', '#c43f5b', '#8a5cd1', '#c9a227', '#2aa3b8', '#7a8699'];
  var days = Array.from(new Set(report.daily.map(function (d) { return d.day; }))).sort();
  var centers = Array.from(new Set(report.daily.map(function (d) { return d.costCenter; }))).sort();
  new Chart(document.getElementById('daily'), {
    type: 'bar',
    data: { labels: days, datasets: centers.map(function (cc, i) {
      return { label: cc, backgroundColor: palette[i % palette.length], data: days.map(function (day) {
        var hit = report.daily.find(function (d) { return d.day === day && d.costCenter === cc; });
        return hit ? hit.costUsd : 0;
      }) };
    }) },
    options: { animation: false, responsive: false, scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: 'USD' } } } }
  });
  new Chart(document.getElementById('models'), {
    type: 'doughnut',
    data: { labels: report.byModel.map(function (m) { return m.modelId; }),
      datasets: [{ data: report.byModel.map(function (m) { return m.costUsd; }), backgroundColor: palette }] },
    options: { animation: false, responsive: false }
  });
  new Chart(document.getElementById('budgets'), {
    type: 'bar',
    data: { labels: report.budgets.map(function (b) { return b.costCenter; }),
      datasets: [{ label: '% of limit', backgroundColor: '#2f6fde', data: report.budgets.map(function (b) { return Math.round(b.utilization * 10000) / 100; }) }] },
    options: { animation: false, responsive: false, indexAxis: 'y', scales: { x: { min: 0, suggestedMax: 100 } } }
  });
  document.body.dataset.chartsReady = 'true';
})();
</script>
</body>
</html>
`;
}
