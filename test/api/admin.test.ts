import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import { seedBudgets } from '../../local/runtime.ts';
import type { LocalStack } from '../../local/stack.ts';
import { exampleConfig, invokeBody } from '../helpers/fixtures.ts';
import { budgetForWorstCases, counters } from '../helpers/local-runtime.ts';
import { logLines, post, startTestStack } from '../helpers/local-stack.ts';

/** The admin API over real HTTP against the local stack. */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

const admin = (method: string, path: string, body?: unknown) => post(stack, body ?? {}, { method, path });
const invoke = (options: Parameters<typeof invokeBody>[0]) => post(stack, invokeBody(options));

describe('GET /v1/budgets', () => {
  it('lists the config budgets with this period figures and forecast', async () => {
    const { status, json } = await admin('GET', '/v1/budgets');
    expect(status).toBe(200);
    const support = json.budgets.find((b: { costCenter: string }) => b.costCenter === 'support');
    expect(support).toMatchObject({
      period: 'monthly',
      limitUsd: 500,
      alertThresholds: [0.5, 0.8, 1],
      source: 'config',
      forecast: { burnRateUsdPerDay: expect.any(Number), projectedSpendUsd: expect.any(Number) },
    });
    for (const key of [
      'periodKey',
      'spentUsd',
      'reservedUsd',
      'remainingUsd',
      'spentTokens',
      'reservedTokens',
      'resetsAt',
    ]) {
      expect(support).toHaveProperty(key);
    }
  });
});

describe('PUT, GET and DELETE /v1/budgets/{costCenter}', () => {
  it('creates (201), changes (200), reads and deletes a budget', async () => {
    const created = await admin('PUT', '/v1/budgets/research', {
      period: 'daily',
      limitUsd: 5,
      alertThresholds: [0.9],
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      costCenter: 'research',
      period: 'daily',
      limitUsd: 5,
      source: 'api',
    });
    const changed = await admin('PUT', '/v1/budgets/research', {
      period: 'daily',
      limitUsd: 7,
      limitTokens: 1000,
    });
    expect([changed.status, changed.json.limitUsd, changed.json.limitTokens]).toEqual([200, 7, 1000]);
    expect((await admin('GET', '/v1/budgets/research')).json.limitUsd).toBe(7);

    expect((await admin('DELETE', '/v1/budgets/research')).status).toBe(204);
    const gone = await admin('GET', '/v1/budgets/research');
    expect([gone.status, gone.json.error.code]).toEqual([404, 'NOT_FOUND']);
    expect((await invoke({ costCenter: 'research' })).json.error.code).toBe('UNKNOWN_COST_CENTER');
  });

  it.each([
    ['no limit', { period: 'monthly' }, ''],
    ['an unknown period', { period: 'weekly', limitUsd: 1 }, 'period'],
    ['a negative limit', { period: 'monthly', limitUsd: -1 }, 'limitUsd'],
    ['a fractional token limit', { period: 'monthly', limitTokens: 1.5 }, 'limitTokens'],
    ['an unknown field', { period: 'monthly', limitUsd: 1, owner: 'x' }, ''],
  ])('refuses %s with INVALID_REQUEST and details', async (_name, body, path) => {
    const { status, json } = await admin('PUT', '/v1/budgets/research', body);
    expect([status, json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(json.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('refuses a malformed body and a cost center name that is not a tag value', async () => {
    const malformed = await post(stack, '{"period":', { method: 'PUT', path: '/v1/budgets/research' });
    expect([malformed.status, malformed.json.error.message]).toEqual([
      400,
      'The request body is not valid JSON.',
    ]);
    const badName = await admin('PUT', '/v1/budgets/bad%20name', { period: 'monthly', limitUsd: 1 });
    expect([badName.status, badName.json.error.details[0].path]).toEqual([400, 'costCenter']);
  });

  it('answers 404 for a budget that does not exist', async () => {
    expect((await admin('DELETE', '/v1/budgets/nobody')).status).toBe(404);
  });
});

describe("a budget's period", () => {
  it('may change while nothing is spent or held in the current period', async () => {
    await admin('PUT', '/v1/budgets/switch-empty', { period: 'monthly', limitUsd: 1 });
    const switched = await admin('PUT', '/v1/budgets/switch-empty', { period: 'daily', limitUsd: 1 });
    expect([switched.status, switched.json.period]).toEqual([200, 'daily']);
  });

  it('may not change once the current period has spending, which a new period would forget', async () => {
    await admin('PUT', '/v1/budgets/switch-spent', { period: 'monthly', limitUsd: 1 });
    const spent = await invoke({ costCenter: 'switch-spent' });
    expect(spent.status).toBe(200);

    const refused = await admin('PUT', '/v1/budgets/switch-spent', { period: 'daily', limitUsd: 1 });

    expect([refused.status, refused.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(refused.json.error.details).toEqual([
      { path: 'period', message: expect.stringMatching(/^cannot change from monthly to daily/) },
    ]);
    const kept = await admin('GET', '/v1/budgets/switch-spent');
    expect([kept.json.period, kept.json.spentUsd]).toEqual(['monthly', spent.json.cost.usd]);
    // Everything but the period may still change.
    const raised = await admin('PUT', '/v1/budgets/switch-spent', { period: 'monthly', limitUsd: 2 });
    expect([raised.status, raised.json.limitUsd]).toEqual([200, 2]);
  });
});

describe('the admin API refuses client mistakes with 400, never 500', () => {
  it.each([
    ['a limit finer than a pico-dollar', 1e-13],
    ['a limit with 13 decimal places', 0.1234567890123],
  ])('%s', async (_name, limitUsd) => {
    const { status, json } = await admin('PUT', '/v1/budgets/research', { period: 'monthly', limitUsd });
    expect([status, json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(json.error.details).toEqual([
      { path: 'limitUsd', message: 'must be a whole number of pico-dollars (at most 12 decimal places)' },
    ]);
  });

  it('accepts a limit of exactly one pico-dollar', async () => {
    const { status, json } = await admin('PUT', '/v1/budgets/pico', { period: 'monthly', limitUsd: 1e-12 });
    expect([status, json.limitUsd]).toEqual([201, 1e-12]);
  });

  it.each([
    ['GET', '/v1/budgets/%E0%A4%A'],
    ['PUT', '/v1/budgets/%ZZ'],
    ['GET', '/v1/budgets/support/applications/%E0%A4%A'],
    ['DELETE', '/v1/keys/%ZZ'],
  ])('malformed percent-encoding in %s %s', async (method, path) => {
    const { status, json } = await admin(method, path, { period: 'monthly', limitUsd: 1 });
    expect([status, json.error.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(json.error.message).toBe('The path is not valid percent-encoded UTF-8.');
  });
});

describe('admin bodies get the same checks as the invoke route', () => {
  it.each([
    ['a duplicated limit', 'dupe-limit', '{"period":"monthly","limitUsd":1,"limitUsd":100000}'],
    ['a duplicated period', 'dupe-period', '{"period":"daily","limitUsd":1,"period":"monthly"}'],
    [
      'nesting 40 levels deep',
      'deep',
      `{"period":"monthly","limitUsd":1,"x":${'['.repeat(40)}${']'.repeat(40)}}`,
    ],
  ])('refuses %s and stores nothing', async (_name, costCenter, body) => {
    const path = `/v1/budgets/${costCenter}`;
    const { status, json } = await post(stack, body, { method: 'PUT', path });
    expect([status, json.error?.code]).toEqual([400, 'INVALID_REQUEST']);
    expect((await admin('GET', path)).status).toBe(404);
  });

  it('refuses a duplicated key in a new API key body', async () => {
    const body = '{"costCenters":["support"],"costCenters":["support","sales"]}';
    const { status, json } = await post(stack, body, { method: 'POST', path: '/v1/keys' });
    expect([status, json.error?.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('refuses a description that is not well-formed Unicode', async () => {
    const body = '{"costCenters":["support"],"description":"\\ud800"}';
    const { status, json } = await post(stack, body, { method: 'POST', path: '/v1/keys' });
    expect([status, json.error?.details]).toEqual([
      400,
      [{ path: 'description', message: 'must be well-formed Unicode text' }],
    ]);
  });
});

describe('admin error bodies never echo client text and stay small', () => {
  it('an unknown key named after a card number, or duplicated', async () => {
    for (const body of [
      '{"period":"monthly","limitUsd":1,"4111111111111111":1}',
      '{"period":"monthly","limitUsd":1,"4111111111111111":1,"4111111111111111":2}',
    ]) {
      const response = await post(stack, body, { method: 'PUT', path: '/v1/budgets/research' });
      expect(response.status).toBe(400);
      expect(JSON.stringify(response.json)).not.toContain('4111111111111111');
    }
  });

  it('14,000 unknown keys give a body under 8 KB', async () => {
    const extra = Object.fromEntries(Array.from({ length: 14_000 }, (_, i) => [`k${i}`, 1]));
    const response = await fetch(`${stack.url}/v1/budgets/research`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ period: 'monthly', limitUsd: 1, ...extra }),
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(Buffer.byteLength(text)).toBeLessThan(8 * 1024);
    expect(JSON.parse(text).error.details.length).toBeLessThanOrEqual(20);
  });
});

describe('limits take effect on the next request', () => {
  it('a raised limit lets the next request through; one lowered below spent refuses it', async () => {
    await admin('PUT', '/v1/budgets/ops', { period: 'monthly', limitUsd: 0.000001 });
    expect((await invoke({ costCenter: 'ops' })).status).toBe(429);

    await admin('PUT', '/v1/budgets/ops', { period: 'monthly', limitUsd: 1 });
    const allowed = await invoke({ costCenter: 'ops' });
    expect(allowed.status).toBe(200);

    await admin('PUT', '/v1/budgets/ops', { period: 'monthly', limitUsd: allowed.json.cost.usd / 2 });
    const refused = await invoke({ costCenter: 'ops' });
    expect([refused.status, refused.json.error.code]).toEqual([429, 'BUDGET_EXCEEDED']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.json.error.budget).toMatchObject({
      scope: 'costCenter',
      costCenter: 'ops',
      spentUsd: allowed.json.cost.usd,
    });
  });
});

describe('application budgets', () => {
  it('refuse a request that fits the cost center but not its application, and say which', async () => {
    await admin('PUT', '/v1/budgets/apps', { period: 'monthly', limitUsd: 100 });
    const put = await admin('PUT', '/v1/budgets/apps/applications/chatbot', {
      period: 'daily',
      limitUsd: 0.000001,
    });
    expect([put.status, put.json.applicationId]).toEqual([201, 'chatbot']);

    const refused = await invoke({ costCenter: 'apps', applicationId: 'chatbot' });
    expect([refused.status, refused.json.error.code]).toEqual([429, 'BUDGET_EXCEEDED']);
    expect(refused.json.error.budget).toMatchObject({
      scope: 'application',
      applicationId: 'chatbot',
      period: 'daily',
    });
    expect(refused.json.error.message).toContain("application 'chatbot' in cost center 'apps'");
    // The cost center's reservation was handed back.
    expect((await counters(stack.runtime, 'apps')).reservedPico).toBe(0n);

    const other = await invoke({ costCenter: 'apps', applicationId: 'reports' });
    expect(other.status).toBe(200);
    expect(other.json.applicationBudget).toBeUndefined();
  });

  it('charge both budgets, and show the application budget in the response', async () => {
    await admin('PUT', '/v1/budgets/apps/applications/search', { period: 'monthly', limitUsd: 1 });
    const { json } = await invoke({ costCenter: 'apps', applicationId: 'search' });
    expect(json.applicationBudget).toMatchObject({ applicationId: 'search', spentUsd: json.cost.usd });
    const listed = (await admin('GET', '/v1/budgets')).json.budgets.filter(
      (b: { costCenter: string }) => b.costCenter === 'apps',
    );
    expect(listed.map((b: { applicationId?: string }) => b.applicationId ?? '-')).toEqual([
      '-',
      'chatbot',
      'search',
    ]);
  });

  it('need the cost center budget first, and go when it goes', async () => {
    const orphan = await admin('PUT', '/v1/budgets/nowhere/applications/x', {
      period: 'monthly',
      limitUsd: 1,
    });
    expect(orphan.status).toBe(404);
    await admin('PUT', '/v1/budgets/temp', { period: 'monthly', limitUsd: 1 });
    await admin('PUT', '/v1/budgets/temp/applications/x', { period: 'monthly', limitUsd: 1 });
    await admin('DELETE', '/v1/budgets/temp');
    expect((await admin('GET', '/v1/budgets/temp/applications/x')).status).toBe(404);
  });
});

describe('GET /v1/usage', () => {
  it('sums the day aggregates to exactly the costs the responses reported', async () => {
    await admin('PUT', '/v1/budgets/finance', { period: 'monthly', limitUsd: 10 });
    const calls = [
      invokeBody({
        costCenter: 'finance',
        applicationId: 'ledger',
        environment: 'production',
        model: 'nova-micro',
      }),
      invokeBody({
        costCenter: 'finance',
        applicationId: 'ledger',
        environment: 'dev',
        model: 'claude-haiku',
      }),
      invokeBody({
        costCenter: 'finance',
        applicationId: 'forecast',
        environment: 'dev',
        model: 'nova-micro',
      }),
    ];
    const answers = await Promise.all(calls.map((body) => post(stack, body)));
    const reported = answers.reduce((sum, a) => sum + usdToPico(a.json.cost.usd), 0n);

    for (const by of ['costCenter', 'application', 'environment', 'model']) {
      const { status, json } = await admin('GET', `/v1/usage?by=${by}&costCenter=finance`);
      expect(status).toBe(200);
      expect(json.rows.reduce((sum: bigint, r: { costUsd: number }) => sum + usdToPico(r.costUsd), 0n)).toBe(
        reported,
      );
      expect(usdToPico(json.total.costUsd)).toBe(reported);
    }
    const byApp = (await admin('GET', '/v1/usage?by=application&costCenter=finance')).json.rows;
    expect(
      byApp.map((r: { applicationId: string; requests: number }) => [r.applicationId, r.requests]).sort(),
    ).toEqual([
      ['forecast', 1],
      ['ledger', 2],
    ]);
  });

  it('refuses a bad period or dimension', async () => {
    const { status, json } = await admin('GET', '/v1/usage?period=2026-13&by=team');
    expect(status).toBe(400);
    expect(json.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['by', 'period']);
  });
});

describe('alerts', () => {
  it('go out exactly once per threshold under 100 concurrent requests', async () => {
    // The budget holds 100 worst cases, so none is refused; 100 real costs spend about 75% of it.
    const body = invokeBody({ costCenter: 'alerting', content: 'Hello', maxTokens: 32 });
    const limitPico = await budgetForWorstCases(stack.runtime, body, 100n);
    const put = await admin('PUT', '/v1/budgets/alerting', {
      period: 'monthly',
      limitUsd: Number(limitPico) / 1e12,
      alertThresholds: [0.1, 0.25, 0.5, 0.7, 0.9],
    });
    expect(put.status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 100 }, () => post(stack, body)));
    expect(answers.every((a) => a.status === 200)).toBe(true);

    const { json: budget } = await admin('GET', '/v1/budgets/alerting');
    expect(budget.utilization).toBeGreaterThan(0.7);
    expect(budget.utilization).toBeLessThan(0.9);
    const alerts = logLines(stack).filter((l) => l.budgetAlert?.costCenter === 'alerting');
    expect(alerts.map((l) => l.budgetAlert.threshold).sort()).toEqual([0.1, 0.25, 0.5, 0.7]);
    expect(budget.alertsSent).toEqual([0.1, 0.25, 0.5, 0.7]);
  });
});

describe('budgets as code', () => {
  it('the config wins at start for the budgets it sets; API-made budgets are left alone', async () => {
    await admin('PUT', '/v1/budgets/support', { period: 'daily', limitUsd: 1 });
    await admin('PUT', '/v1/budgets/api-only', { period: 'daily', limitUsd: 2 });

    await seedBudgets(stack.runtime.store, exampleConfig());

    expect((await admin('GET', '/v1/budgets/support')).json).toMatchObject({
      period: 'monthly',
      limitUsd: 500,
      source: 'config',
    });
    expect((await admin('GET', '/v1/budgets/api-only')).json).toMatchObject({ limitUsd: 2, source: 'api' });
  });
});
