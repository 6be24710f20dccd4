import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { logLines, startTestStack } from '../helpers/local-stack.ts';

/** The cost-sentry CLI, run as a process against the local stack. */
const CLI = fileURLToPath(new URL('../../cli/cost-sentry.ts', import.meta.url));
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args, '--endpoint', stack.url], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('cost-sentry, a platform engineer with the CLI only', () => {
  it('sets a daily budget, watches requests spend it, sees the forecast and the alert, and the refusal', async () => {
    const set = await cli(
      'budgets',
      'set',
      'newteam',
      '--period',
      'daily',
      '--limit-usd',
      '0.0001',
      '--thresholds',
      '0.5,1',
    );
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/newteam\s+daily/);

    const spend = () =>
      cli(
        'invoke',
        '--cost-center',
        'newteam',
        '--application',
        'bot',
        '--environment',
        'dev',
        '--max-tokens',
        '100',
        'Hi [[sim:output_tokens=100]]',
      );
    const first = await spend();
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('sim sim');
    // Each call costs about $0.0000244 and reserves $0.000028: three fit, a fourth does not.
    expect((await spend()).code).toBe(0);
    expect((await spend()).code).toBe(0);

    const get = await cli('budgets', 'get', 'newteam', '--format', 'json');
    const budget = JSON.parse(get.stdout);
    expect(budget.utilization).toBeGreaterThanOrEqual(0.5);
    expect(budget.forecast.burnRateUsdPerDay).toBeGreaterThan(0);
    // The run-out date is there only when, at this rate, the limit runs out before the day ends
    // (which depends on the hour the test runs).
    if (budget.forecast.projectedSpendUsd > budget.limitUsd) {
      expect(budget.forecast.projectedRunOutAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    } else {
      expect(budget.forecast.projectedRunOutAt).toBeNull();
    }
    expect(budget.alertsSent).toEqual([0.5]);
    expect(
      logLines(stack).some((l) => l.budgetAlert?.costCenter === 'newteam' && l.budgetAlert.threshold === 0.5),
    ).toBe(true);

    const refused = await spend();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/BUDGET_EXCEEDED \(HTTP 429\)/);
    expect(refused.stderr).toMatch(/Retry-After: \d+ seconds/);
  });
});

describe('cost-sentry output and errors', () => {
  it('lists budgets as a table, JSON and CSV', async () => {
    const table = await cli('budgets', 'list');
    expect(table.stdout.split('\n')[0]).toMatch(/^COST CENTER\s+APPLICATION\s+PERIOD/);
    const json = JSON.parse((await cli('budgets', 'list', '--format', 'json')).stdout);
    expect(json.budgets.map((b: { costCenter: string }) => b.costCenter)).toContain('support');
    const csv = (await cli('budgets', 'list', '--format', 'csv')).stdout.trim().split('\n');
    expect(csv[0]?.startsWith('costCenter,applicationId,period,')).toBe(true);
    expect(csv.some((line) => line.startsWith('support,,monthly,'))).toBe(true);
  });

  it('reports usage by model as CSV', async () => {
    await cli('invoke', '--cost-center', 'support', '--application', 'a', '--environment', 'dev', 'Hello');
    const csv = (await cli('usage', '--by', 'model', '--format', 'csv')).stdout.trim().split('\n');
    expect(csv[0]).toBe('modelId,requests,inputTokens,outputTokens,costUsd');
    expect(csv[1]).toMatch(/^amazon\.nova-lite-v1:0,\d+,/);
  });

  it('sets rate limits, fitting and policies, and shows them with budgets get', async () => {
    const set = await cli(
      'budgets',
      'set',
      'flowcli',
      '--period',
      'monthly',
      '--limit-usd',
      '5',
      '--rpm',
      '60',
      '--tpm',
      '90000',
      '--clamp-min',
      '128',
      '--policy',
      'downgrade:0.8:nova-pro:nova-lite',
      '--policy',
      'deny:0.95:nova-pro,nova-lite',
    );
    const json = JSON.parse((await cli('budgets', 'get', 'flowcli', '--format', 'json')).stdout);
    const table = await cli('budgets', 'get', 'flowcli');

    expect(set.code).toBe(0);
    expect(json).toMatchObject({
      rateLimits: { requestsPerMinute: 60, tokensPerMinute: 90000 },
      rateWindow: { requests: 0, tokens: 0 },
      fit: 'clamp',
      minOutputTokens: 128,
      policies: [
        { atUtilization: 0.8, action: 'downgrade', from: 'nova-pro', to: 'nova-lite', active: false },
        { atUtilization: 0.95, action: 'deny', models: ['nova-pro', 'nova-lite'], active: false },
      ],
    });
    expect(table.stdout).toMatch(/RPM\s+TPM\s+THIS MINUTE\s+FIT\s+POLICIES/);
    expect(table.stdout).toContain('downgrade nova-pro->nova-lite at 80%; deny nova-pro,nova-lite at 95%');
  });

  it('deletes a budget', async () => {
    await cli('budgets', 'set', 'shortlived', '--period', 'monthly', '--limit-tokens', '1000');
    const deleted = await cli('budgets', 'delete', 'shortlived');
    expect([deleted.code, deleted.stdout.trim()]).toEqual([
      0,
      "Deleted the budget of cost center 'shortlived'.",
    ]);
  });

  it.each([
    [['budgets', 'get', 'nobody'], 1, /NOT_FOUND \(HTTP 404\): There is no budget for cost center 'nobody'/],
    [
      ['budgets', 'set', 'x', '--period', 'weekly', '--limit-usd', '1'],
      1,
      /INVALID_REQUEST \(HTTP 400\)[\s\S]*period:/,
    ],
    [['budgets', 'set', 'x', '--limit-usd', '1'], 2, /needs --period/],
    [['budgets', 'set', 'x', '--period', 'daily', '--limit-usd', 'lots'], 2, /--limit-usd must be a number/],
    [['budgets', 'frobnicate'], 2, /unknown command/],
    [['teams', 'list'], 2, /unknown group/],
    [['budgets', 'list', '--format', 'xml'], 2, /--format must be one of table, json, csv/],
    [['budgets', 'list', '--colour'], 2, /Unknown option '--colour'/],
  ])('answers %j with exit %i and a clear message', async (args, code, message) => {
    const result = await cli(...args);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });

  it('says when the sentry cannot be reached', async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, 'budgets', 'list', '--endpoint', 'http://127.0.0.1:9'],
        (error, _out, stderr) => resolve({ code: Number(error?.code ?? 0), stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9.*npm start/);
  });

  it('prints its help', async () => {
    const help = await cli('--help');
    expect(help.stdout).toContain('Usage: cost-sentry <group> <command> [options]');
  });
});
