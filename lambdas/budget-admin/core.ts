import { z } from 'zod';
import { type ApiKeyRecord, type KeyStore, newApiKey } from '../shared/rules/api-keys.ts';
import {
  type BudgetDefinition,
  type BudgetScope,
  type BudgetStore,
  budgetView,
  forecast,
  keys,
  type UsageAggregate,
  utilization,
} from '../shared/rules/budget.ts';
import { budgetDefinitionOf, budgetInputSchema } from '../shared/rules/budget-input.ts';
import { TAG_VALUE } from '../shared/rules/catalog.ts';
import { InvalidRequestError, SentryError } from '../shared/rules/errors.ts';
import { detailsOf, parseJsonBody } from '../shared/rules/json-body.ts';
import { picoToUsd } from '../shared/rules/money.ts';
import { isoSeconds, type Period, periodEnd, periodKey } from '../shared/rules/period.ts';

/** An admin API call, whatever carried it (API Gateway's proxy event, the local gateway). */
export interface AdminRequest {
  method: string;
  path: string;
  body: string | null;
  query: Record<string, string | undefined>;
}

export interface AdminResponse {
  status: number;
  body?: unknown;
}

export interface AdminDeps {
  store: BudgetStore;
  keys: KeyStore;
  now: () => Date;
}

/** The admin routes: their path patterns and methods. The gateways answer 405 for other methods. */
export const ADMIN_ROUTES = [
  { pattern: /^\/v1\/budgets$/, methods: ['GET'] },
  { pattern: /^\/v1\/budgets\/([^/]+)$/, methods: ['GET', 'PUT', 'DELETE'] },
  { pattern: /^\/v1\/budgets\/([^/]+)\/applications\/([^/]+)$/, methods: ['GET', 'PUT', 'DELETE'] },
  { pattern: /^\/v1\/usage$/, methods: ['GET'] },
  { pattern: /^\/v1\/report$/, methods: ['GET'] },
  { pattern: /^\/v1\/keys$/, methods: ['GET', 'POST'] },
  { pattern: /^\/v1\/keys\/([^/]+)$/, methods: ['DELETE'] },
] as const;

const keyBodySchema = z
  .object({
    costCenters: z.array(z.string().regex(TAG_VALUE, 'must follow the tag value rule')).min(1).max(50),
    applicationIds: z
      .array(z.string().regex(TAG_VALUE, 'must follow the tag value rule'))
      .min(1)
      .max(50)
      .optional(),
    environments: z
      .array(z.string().regex(TAG_VALUE, 'must follow the tag value rule'))
      .min(1)
      .max(20)
      .optional(),
    description: z.string().max(256).optional(),
  })
  .strict();

/** What a listing shows of a key: never its secret or hash. */
function keyView(record: ApiKeyRecord): Record<string, unknown> {
  return {
    keyId: record.keyId,
    costCenters: record.costCenters,
    applicationIds: record.applicationIds ?? null,
    environments: record.environments ?? null,
    description: record.description ?? null,
    createdAt: record.createdAt,
  };
}

async function keysRoute(
  request: AdminRequest,
  keyId: string | undefined,
  deps: AdminDeps,
): Promise<AdminResponse> {
  if (request.method === 'GET') {
    const keys = (await deps.keys.listKeys()).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return { status: 200, body: { keys: keys.map(keyView) } };
  }
  if (request.method === 'DELETE') {
    if (!keyId || !(await deps.keys.deleteKey(decodePathSegment(keyId, 'keyId'))))
      throw new NotFound('There is no such key.');
    return { status: 204 };
  }
  const input = parseJsonBody(request.body, keyBodySchema, 'The key');
  const { keyId: id, apiKey, secretHash } = newApiKey();
  const record: ApiKeyRecord = { keyId: id, secretHash, ...input, createdAt: deps.now().toISOString() };
  await deps.keys.putKey(record);
  return {
    status: 201,
    body: { ...keyView(record), apiKey, note: 'Store the apiKey now: it is shown only this once.' },
  };
}

export const USAGE_DIMENSIONS = ['costCenter', 'application', 'environment', 'model'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

const usageQuerySchema = z
  .object({
    period: z
      .string()
      .regex(
        /^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$/,
        'must be a month (2026-11) or a day (2026-11-23)',
      )
      .optional(),
    by: z.enum(USAGE_DIMENSIONS).default('costCenter'),
    costCenter: z.string().regex(TAG_VALUE).optional(),
  })
  .strict();

class NotFound extends SentryError {
  constructor(message: string) {
    super('NotFoundError', { message });
  }
}

const describe = (scope: BudgetScope) =>
  scope.applicationId
    ? `application '${scope.applicationId}' in cost center '${scope.costCenter}'`
    : `cost center '${scope.costCenter}'`;

/** A path segment, percent-decoded; malformed encoding (`%ZZ`, a cut UTF-8 sequence) is the client's mistake. */
function decodePathSegment(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InvalidRequestError('The path is not valid percent-encoded UTF-8.', [
      { path: name, message: 'must be valid percent-encoded UTF-8' },
    ]);
  }
}

function pathScope(costCenter: string, applicationId?: string): BudgetScope {
  const details = [
    ...(TAG_VALUE.test(costCenter)
      ? []
      : [{ path: 'costCenter', message: 'must follow the tag value rule' }]),
    ...(applicationId === undefined || TAG_VALUE.test(applicationId)
      ? []
      : [{ path: 'applicationId', message: 'must follow the tag value rule' }]),
  ];
  if (details.length > 0) throw new InvalidRequestError('The path is invalid.', details);
  return { costCenter, ...(applicationId !== undefined ? { applicationId } : {}) };
}

/** A budget with its current period's figures and forecast. */
async function view(budget: BudgetDefinition, deps: AdminDeps): Promise<Record<string, unknown>> {
  const at = deps.now();
  const key = periodKey(budget.period, at);
  const figures = await deps.store.getCounter(keys.counter(budget, key));
  return {
    ...budgetView(budget, key, figures, at),
    alertThresholds: budget.alertThresholds,
    alertsSent: figures.alerted.sort((a, b) => a - b),
    utilization: Math.round(utilization(budget, figures) * 10_000) / 10_000,
    forecast: forecast(budget, figures, at),
    source: budget.source ?? 'config',
    updatedAt: budget.updatedAt ?? null,
  };
}

async function find(scope: BudgetScope, deps: AdminDeps): Promise<BudgetDefinition> {
  const found = await deps.store.getBudgets(scope);
  const budget = scope.applicationId ? found.application : found.costCenter;
  if (!budget) throw new NotFound(`There is no budget for ${describe(scope)}.`);
  return budget;
}

async function put(scope: BudgetScope, body: string | null, deps: AdminDeps): Promise<AdminResponse> {
  const input = parseJsonBody(body, budgetInputSchema, 'The budget');
  const existing = await deps.store.getBudgets(scope);
  if (scope.applicationId && !existing.costCenter) {
    throw new NotFound(
      `There is no budget for cost center '${scope.costCenter}'; set it before its applications'.`,
    );
  }
  const before = scope.applicationId ? existing.application : existing.costCenter;
  if (before && before.period !== input.period) await refuseForgettingSpend(before, input.period, deps);
  await deps.store.putBudget(budgetDefinitionOf(scope, input, 'api'));
  return { status: before ? 200 : 201, body: await view(await find(scope, deps), deps) };
}

/**
 * Counters are kept per period, so a budget whose period changes starts from the new period's
 * counter: whatever the current one holds would be forgotten (a monthly budget switched to
 * daily mid-month could be spent again). The switch is allowed only while the current counter
 * is empty, so spent can never pass the limit through it.
 */
async function refuseForgettingSpend(
  before: BudgetDefinition,
  period: Period,
  deps: AdminDeps,
): Promise<void> {
  const at = deps.now();
  const key = periodKey(before.period, at);
  const figures = await deps.store.getCounter(keys.counter(before, key));
  const empty =
    figures.allocatedPico === 0n &&
    figures.spentPico === 0n &&
    figures.allocatedTokens === 0 &&
    figures.spentTokens === 0;
  if (empty) return;
  throw new InvalidRequestError("The budget's period cannot change during a period with spending.", [
    {
      path: 'period',
      message:
        `cannot change from ${before.period} to ${period} while ${key} has spending or reservations, ` +
        `which the new period would not count; change it from ${isoSeconds(periodEnd(before.period, at))}`,
    },
  ]);
}

/** Sum usage aggregates by one dimension. */
export function summarise(rows: UsageAggregate[], by: UsageDimension): Array<Record<string, unknown>> {
  const groups = new Map<
    string,
    {
      key: Record<string, string>;
      totals: Omit<UsageAggregate, 'day' | 'costCenter' | 'applicationId' | 'environment' | 'modelId'>;
    }
  >();
  for (const row of rows) {
    const key: Record<string, string> =
      by === 'costCenter'
        ? { costCenter: row.costCenter }
        : by === 'application'
          ? { costCenter: row.costCenter, applicationId: row.applicationId }
          : by === 'environment'
            ? { environment: row.environment }
            : { modelId: row.modelId };
    const id = Object.values(key).join('\u0000');
    const group = groups.get(id) ?? {
      key,
      totals: {
        requests: 0,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadInputTokens: 0,
        cacheWriteInputTokens: 0,
        costPico: 0n,
      },
    };
    group.totals.requests += row.requests;
    group.totals.inputTokens += row.inputTokens;
    group.totals.outputTokens += row.outputTokens;
    group.totals.cacheReadInputTokens += row.cacheReadInputTokens;
    group.totals.cacheWriteInputTokens += row.cacheWriteInputTokens;
    group.totals.costPico += row.costPico;
    groups.set(id, group);
  }
  return [...groups.values()]
    .sort((a, b) =>
      b.totals.costPico > a.totals.costPico ? 1 : b.totals.costPico < a.totals.costPico ? -1 : 0,
    )
    .map(({ key, totals: { costPico, ...counts } }) => ({ ...key, ...counts, costUsd: picoToUsd(costPico) }));
}

/** The usage aggregates of a period, for one cost center or all that have budgets. */
async function usageRows(
  deps: AdminDeps,
  period: string,
  costCenter: string | undefined,
): Promise<UsageAggregate[]> {
  const costCenters = costCenter
    ? [costCenter]
    : [...new Set((await deps.store.listBudgets()).map((b) => b.costCenter))].sort();
  return (await Promise.all(costCenters.map((cc) => deps.store.queryUsage(cc, period)))).flat();
}

/**
 * Finance's report of a period, from the aggregates: totals, spend by each dimension, spend per
 * day per cost center, and each cost center's budget use now.
 */
async function report(query: AdminRequest['query'], deps: AdminDeps): Promise<AdminResponse> {
  const parsed = usageQuerySchema.omit({ by: true }).safeParse(query);
  if (!parsed.success)
    throw new InvalidRequestError('The query does not match the schema.', detailsOf(parsed.error));
  const period = parsed.data.period ?? periodKey('monthly', deps.now());
  const rows = await usageRows(deps, period, parsed.data.costCenter);
  const daily = new Map<string, bigint>();
  for (const row of rows) {
    const key = `${row.day}|${row.costCenter}`;
    daily.set(key, (daily.get(key) ?? 0n) + row.costPico);
  }
  const budgets = (await deps.store.listBudgets()).filter(
    (b) => !b.applicationId && (!parsed.data.costCenter || b.costCenter === parsed.data.costCenter),
  );
  return {
    status: 200,
    body: {
      period,
      generatedAt: deps.now().toISOString(),
      total: {
        requests: rows.reduce((sum, r) => sum + r.requests, 0),
        costUsd: picoToUsd(rows.reduce((sum, r) => sum + r.costPico, 0n)),
      },
      byCostCenter: summarise(rows, 'costCenter'),
      byApplication: summarise(rows, 'application'),
      byEnvironment: summarise(rows, 'environment'),
      byModel: summarise(rows, 'model'),
      daily: [...daily.entries()]
        .map(([key, pico]) => {
          const [day = '', costCenter = ''] = key.split('|');
          return { day, costCenter, costUsd: picoToUsd(pico) };
        })
        .sort((a, b) => a.day.localeCompare(b.day) || a.costCenter.localeCompare(b.costCenter)),
      budgets: (await Promise.all(budgets.map((b) => view(b, deps)))).sort((a, b) =>
        String(a.costCenter).localeCompare(String(b.costCenter)),
      ),
    },
  };
}

async function usage(query: AdminRequest['query'], deps: AdminDeps): Promise<AdminResponse> {
  const parsed = usageQuerySchema.safeParse(query);
  if (!parsed.success)
    throw new InvalidRequestError('The query does not match the schema.', detailsOf(parsed.error));
  const period = parsed.data.period ?? periodKey('monthly', deps.now());
  const rows = await usageRows(deps, period, parsed.data.costCenter);
  const totalPico = rows.reduce((sum, r) => sum + r.costPico, 0n);
  return {
    status: 200,
    body: {
      period,
      by: parsed.data.by,
      rows: summarise(rows, parsed.data.by),
      total: { requests: rows.reduce((sum, r) => sum + r.requests, 0), costUsd: picoToUsd(totalPico) },
    },
  };
}

/** Route an admin call. Throws a SentryError for anything the caller must fix. */
export async function handleAdmin(request: AdminRequest, deps: AdminDeps): Promise<AdminResponse> {
  const route = ADMIN_ROUTES.find((r) => r.pattern.test(request.path));
  if (!route) throw new NotFound('No such route.');
  if (!(route.methods as readonly string[]).includes(request.method)) {
    throw new SentryError('MethodNotAllowedError', { message: `Allowed: ${route.methods.join(', ')}.` });
  }
  const [, rawCostCenter, rawApplication] = route.pattern.exec(request.path) ?? [];

  if (request.path === '/v1/usage') return usage(request.query, deps);
  if (request.path === '/v1/report') return report(request.query, deps);
  if (request.path.startsWith('/v1/keys')) return keysRoute(request, rawCostCenter, deps);
  if (rawCostCenter === undefined) {
    const budgets = (await deps.store.listBudgets()).sort(
      (a, b) =>
        a.costCenter.localeCompare(b.costCenter) ||
        (a.applicationId ?? '').localeCompare(b.applicationId ?? ''),
    );
    return { status: 200, body: { budgets: await Promise.all(budgets.map((b) => view(b, deps))) } };
  }
  const scope = pathScope(
    decodePathSegment(rawCostCenter, 'costCenter'),
    rawApplication && decodePathSegment(rawApplication, 'applicationId'),
  );
  switch (request.method) {
    case 'GET':
      return { status: 200, body: await view(await find(scope, deps), deps) };
    case 'PUT':
      return put(scope, request.body, deps);
    default: {
      if (!(await deps.store.deleteBudget(scope)))
        throw new NotFound(`There is no budget for ${describe(scope)}.`);
      return { status: 204 };
    }
  }
}
