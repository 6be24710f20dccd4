import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import type { LocalStack } from '../../local/stack.ts';
import { BROWSER_REQUIRED, CHROMIUM_ARGS, findChromium } from '../helpers/browser.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { post, startTestStack } from '../helpers/local-stack.ts';

/** What finance sees: the report in CSV, JSON and HTML, and /dashboard in a real headless browser. */
const CLI = fileURLToPath(new URL('../../cli/cost-sentry.ts', import.meta.url));
let stack: LocalStack;
/** 4,800 characters: about 1,200 tokens, above Claude Sonnet 4.6's 1,024-token cache minimum. */
const FAQ_SYSTEM = 'You answer questions about our product plans. '.repeat(110).slice(0, 4800);
let reportedPico = 0n;
const cacheTokens = { read: 0, write: 0 };

beforeAll(async () => {
  stack = await startTestStack();
  await post(stack, { period: 'monthly', limitUsd: 0.01 }, { method: 'PUT', path: '/v1/budgets/finance' });
  const calls = [
    invokeBody({ costCenter: 'support', applicationId: 'docs-helper', model: 'nova-lite' }),
    invokeBody({
      costCenter: 'support',
      applicationId: 'docs-helper',
      model: 'claude-haiku',
      content: 'Hi [[sim:output_tokens=60]]',
    }),
    invokeBody({ costCenter: 'sales', applicationId: 'crm', environment: 'dev', model: 'nova-micro' }),
    invokeBody({
      costCenter: 'finance',
      applicationId: 'ledger',
      model: 'claude-sonnet',
      content: 'Sum it [[sim:output_tokens=100]]',
      maxTokens: 200,
    }),
  ];
  // Twice the same long system prompt behind a cache point: a cache write, then a cache read.
  const cached = {
    model: 'claude-sonnet',
    prompt: {
      system: [
        { text: 'You answer questions about the ledger. '.repeat(200) },
        { cachePoint: { type: 'default' } },
      ],
      messages: [{ role: 'user', content: 'Sum it [[sim:output_tokens=10]]' }],
      parameters: { max_tokens: 20 },
    },
    tags: { costCenter: 'support', applicationId: 'kb', environment: 'production' },
  };
  // Ten times one long system prompt with no cache point: the prompt-caching lever's evidence.
  const repeated = {
    model: 'claude-sonnet',
    prompt: {
      system: [{ text: FAQ_SYSTEM }],
      messages: [{ role: 'user', content: 'Which plan? [[sim:output_tokens=10]]' }],
      parameters: { max_tokens: 20 },
    },
    tags: { costCenter: 'support', applicationId: 'faq', environment: 'production' },
  };
  for (const body of [...calls, cached, cached, ...Array.from({ length: 10 }, () => repeated)]) {
    const { json } = await post(stack, body);
    reportedPico += usdToPico(json.cost.usd);
    cacheTokens.read += json.usage.cacheReadInputTokens;
    cacheTokens.write += json.usage.cacheWriteInputTokens;
  }
});
afterAll(() => stack?.close());

function cli(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args, '--endpoint', stack.url], (error, stdout, stderr) =>
      error ? reject(new Error(stderr)) : resolve(stdout),
    );
  });
}

describe('prompt caching in the report', () => {
  it("shows Bedrock's cache read and write tokens and what they saved against plain input prices, exactly", async () => {
    const { json } = await post(stack, {}, { method: 'GET', path: '/v1/report' });
    expect(cacheTokens.read).toBeGreaterThan(0);
    expect(cacheTokens.write).toBeGreaterThan(0);
    // Claude Sonnet 4.6, per 1K: input $0.003, cache read $0.0003, cache write $0.00375.
    const savedPico =
      (BigInt(cacheTokens.read) * (3_000_000_000n - 300_000_000n)) / 1000n -
      (BigInt(cacheTokens.write) * (3_750_000_000n - 3_000_000_000n)) / 1000n;
    expect(json.promptCaching).toEqual({
      cacheReadInputTokens: cacheTokens.read,
      cacheWriteInputTokens: cacheTokens.write,
      savedUsd: Number(savedPico) / 1e12,
    });
  });
});

describe('cost-sentry advise and GET /v1/advice', () => {
  it('recommends a cheaper tier for short answers on a premium model, with its saving and an action', async () => {
    const { status, json } = await post(stack, {}, { method: 'GET', path: '/v1/advice' });
    expect(status).toBe(200);
    const sonnet = json.recommendations.find(
      (r: { kind: string; modelId: string; applicationId: string }) =>
        r.kind === 'cheaper-tier' &&
        r.modelId === 'global.anthropic.claude-sonnet-4-6' &&
        r.applicationId === 'ledger',
    );
    expect(sonnet).toMatchObject({
      costCenter: 'finance',
      applicationId: 'ledger',
      action: expect.stringContaining('claude-haiku'),
    });
    expect(sonnet.monthlySavingUsd).toBeGreaterThan(0);
    // nova-lite answered 32 tokens of the 4,096 it reserved: max_tokens strands budget.
    expect(json.recommendations).toContainEqual(
      expect.objectContaining({ kind: 'max-tokens', applicationId: 'docs-helper', monthlySavingUsd: 0 }),
    );
    // One system prompt sent ten times, never its text: the first call writes the cache, nine read it.
    // Per token, Sonnet 4.6 input is 3,000,000 pico-dollars, a cache read 300,000, a write 3,750,000.
    const caching = json.recommendations.filter((r: { kind: string }) => r.kind === 'prompt-caching');
    const savedPico = 1200n * 9n * (3_000_000n - 300_000n) - 1200n * (3_750_000n - 3_000_000n);
    // Scaled from the days with traffic: one, or two when this file's requests straddle midnight UTC.
    expect([1, 2]).toContain(json.daysOfData);
    expect(caching).toEqual([
      {
        kind: 'prompt-caching',
        costCenter: 'support',
        applicationId: 'faq',
        modelId: 'global.anthropic.claude-sonnet-4-6',
        monthlySavingUsd: Number((savedPico * 30n) / BigInt(json.daysOfData)) / 1e12,
        evidence: `one system prompt of about 1200 tokens sent 10 times (hash ${createHash('sha256').update(FAQ_SYSTEM).digest('hex').slice(0, 12)})`,
        action: "Put a cachePoint after faq's system prompt.",
      },
    ]);
    expect(JSON.stringify(json)).not.toContain('You answer questions about our product plans');
    expect(JSON.parse(await cli('advise', '--format', 'json'))).toMatchObject({
      recommendations: json.recommendations,
    });
    const table = await cli('advise');
    expect(table).toContain('cheaper-tier');
    expect(table).toMatch(/Estimated saving: \$[\d.,]+ a month \((one day|2 days) of traffic scaled to 30\)/);
  });
});

describe('cost-sentry report', () => {
  it('totals, in CSV, exactly the costs the responses reported', async () => {
    for (const by of ['costCenter', 'application', 'environment', 'model']) {
      const lines = (await cli('report', '--by', by, '--format', 'csv')).trim().split('\n');
      const costColumn = lines[0]?.split(',').indexOf('costUsd') ?? -1;
      const total = lines
        .slice(1)
        .reduce((sum, line) => sum + usdToPico(line.split(',')[costColumn] ?? '0'), 0n);
      expect(total).toBe(reportedPico);
    }
  });

  it('writes one self-contained HTML file with the charts and the data', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cost-sentry-report-')), 'report.html');
    await cli('report', '--format', 'html', '--output', file);
    const html = readFileSync(file, 'utf8');
    expect(html.match(/<canvas /g)).toHaveLength(3);
    expect(html).toContain('id="report-data"');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
  });
});

const executablePath = findChromium();

describe.runIf(executablePath || BROWSER_REQUIRED)('/dashboard in a real headless browser', () => {
  it('renders its three charts, and shows the figures of the JSON report', async () => {
    expect(executablePath, "no Chromium: install Debian's chromium or set CHROMIUM_PATH").toBeDefined();
    const report = (await post(stack, {}, { method: 'GET', path: '/v1/report' })).json;
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
      const response = await page.goto(`${stack.url}/dashboard`);
      expect(response?.status()).toBe(200);
      await page.waitForSelector('body[data-charts-ready="true"]', { timeout: 10_000 });

      const charts = await page.evaluate(() => {
        const { Chart } = globalThis as unknown as {
          Chart: {
            instances: Record<
              string,
              {
                config: { type: string };
                data: { datasets: Array<{ data: number[] }> };
                canvas: { width: number };
              }
            >;
          };
        };
        const instances = Object.values(Chart.instances);
        return instances.map((c) => ({
          type: c.config.type,
          points: c.data.datasets.reduce((n, d) => n + d.data.length, 0),
          width: c.canvas.width,
        }));
      });
      expect(charts.map((c) => c.type).sort()).toEqual(['bar', 'bar', 'doughnut']);
      for (const chart of charts) {
        expect(chart.points).toBeGreaterThan(0);
        expect(chart.width).toBeGreaterThan(0);
      }

      const shown = await page.$$eval('table[data-testid="by-costCenter"] tbody tr', (rows) =>
        rows.map((row) => ({
          costCenter: row.querySelector('[data-key="costCenter"]')?.textContent,
          cost: row.querySelector('[data-key="costUsd"]')?.textContent,
        })),
      );
      expect(shown).toEqual(
        report.byCostCenter.map((r: { costCenter: string; costUsd: number }) => ({
          costCenter: r.costCenter,
          cost: `$${r.costUsd}`,
        })),
      );
      expect(await page.textContent('[data-testid="total-cost"]')).toBe(`$${report.total.costUsd}`);

      // The Advice panel: the advisor's recommendations for the period, as GET /v1/advice gives them.
      const advice = (await post(stack, {}, { method: 'GET', path: '/v1/advice' })).json;
      expect(advice.recommendations.length).toBeGreaterThan(0);
      expect(await page.$$eval('table[data-testid="advice-table"] tbody tr', (rows) => rows.length)).toBe(
        advice.recommendations.length,
      );
      expect(await page.textContent('[data-testid="advice-total"]')).toBe(`$${advice.totalMonthlySavingUsd}`);
      expect(usdToPico(report.total.costUsd)).toBe(reportedPico);
      await page.screenshot({ path: join(tmpdir(), 'cost-sentry-dashboard.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
