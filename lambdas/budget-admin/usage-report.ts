import { z } from 'zod';
import type { UsageAggregate } from '../shared/rules/budget.ts';
import { type Catalog, priceOf, priceVersionAt, TAG_VALUE } from '../shared/rules/catalog.ts';
import { InvalidRequestError } from '../shared/rules/errors.ts';
import { detailsOf } from '../shared/rules/json-body.ts';
import { costOfTokens, picoToUsd } from '../shared/rules/money.ts';
import { periodKey } from '../shared/rules/period.ts';
import { budgetWithFigures } from './budgets.ts';
import type { AdminDeps, AdminRequest, AdminResponse } from './request.ts';

export const USAGE_DIMENSIONS = ['costCenter', 'application', 'environment', 'model'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

/** The query of GET /v1/usage; GET /v1/report takes the same but `by` (it shows every dimension). */
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

export const reportQuerySchema = usageQuerySchema.omit({ by: true });

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
        rateLimited: 0,
        downgrades: 0,
        cacheHits: 0,
        savedPico: 0n,
      },
    };
    group.totals.requests += row.requests;
    group.totals.inputTokens += row.inputTokens;
    group.totals.outputTokens += row.outputTokens;
    group.totals.cacheReadInputTokens += row.cacheReadInputTokens;
    group.totals.cacheWriteInputTokens += row.cacheWriteInputTokens;
    group.totals.costPico += row.costPico;
    group.totals.rateLimited = (group.totals.rateLimited ?? 0) + (row.rateLimited ?? 0);
    group.totals.downgrades = (group.totals.downgrades ?? 0) + (row.downgrades ?? 0);
    group.totals.cacheHits = (group.totals.cacheHits ?? 0) + (row.cacheHits ?? 0);
    group.totals.savedPico = (group.totals.savedPico ?? 0n) + (row.savedPico ?? 0n);
    groups.set(id, group);
  }
  return [...groups.values()]
    .sort((a, b) =>
      b.totals.costPico > a.totals.costPico ? 1 : b.totals.costPico < a.totals.costPico ? -1 : 0,
    )
    .map(({ key, totals: { costPico, savedPico, ...counts } }) => ({
      ...key,
      ...counts,
      costUsd: picoToUsd(costPico),
      savedUsd: picoToUsd(savedPico ?? 0n),
    }));
}

/**
 * Parse a usage query and read the aggregates it asks for: its period (this month by default),
 * for one cost center or all that have budgets.
 */
export async function usageOf<S extends typeof usageQuerySchema | typeof reportQuerySchema>(
  schema: S,
  query: AdminRequest['query'],
  deps: AdminDeps,
): Promise<z.output<S> & { period: string; rows: UsageAggregate[] }> {
  const parsed = schema.safeParse(query);
  if (!parsed.success)
    throw new InvalidRequestError('The query does not match the schema.', detailsOf(parsed.error));
  const period = parsed.data.period ?? periodKey('monthly', deps.now());
  const costCenter = parsed.data.costCenter;
  const costCenters = costCenter
    ? [costCenter]
    : [...new Set((await deps.store.listBudgets()).map((b) => b.costCenter))].sort();
  const rows = (await Promise.all(costCenters.map((cc) => deps.store.queryUsage(cc, period)))).flat();
  return { ...(parsed.data as z.output<S>), period, rows };
}

/** The requests and cost of a set of aggregates, and what the response cache saved. */
const totalOf = (rows: UsageAggregate[]) => ({
  requests: rows.reduce((sum, r) => sum + r.requests, 0),
  costUsd: picoToUsd(rows.reduce((sum, r) => sum + r.costPico, 0n)),
  cacheHits: rows.reduce((sum, r) => sum + (r.cacheHits ?? 0), 0),
  savedUsd: picoToUsd(rows.reduce((sum, r) => sum + (r.savedPico ?? 0n), 0n)),
});

/**
 * What prompt caching did: the cache read and write tokens Bedrock counted, and what it saved
 * against plain input prices (reads cost less than input; writes cost more, and count against it).
 */
export function promptCachingOf(rows: UsageAggregate[], catalog: Catalog, at: Date) {
  const version = priceVersionAt(catalog, at);
  let savedPico = 0n;
  for (const row of rows) {
    if (!row.cacheReadInputTokens && !row.cacheWriteInputTokens) continue;
    const model = Object.values(catalog.models).find((m) => m.modelId === row.modelId);
    if (!model) continue;
    const p = priceOf(catalog, version, row.modelId);
    savedPico +=
      costOfTokens(row.cacheReadInputTokens, p.input) -
      costOfTokens(row.cacheReadInputTokens, p.cacheRead) -
      (costOfTokens(row.cacheWriteInputTokens, p.cacheWrite) -
        costOfTokens(row.cacheWriteInputTokens, p.input));
  }
  return {
    cacheReadInputTokens: rows.reduce((sum, r) => sum + r.cacheReadInputTokens, 0),
    cacheWriteInputTokens: rows.reduce((sum, r) => sum + r.cacheWriteInputTokens, 0),
    savedUsd: picoToUsd(savedPico),
  };
}

/**
 * Finance's report of a period, from the aggregates: totals, spend by each dimension, spend per
 * day per cost center, and each cost center's budget use now.
 */
export async function report(query: AdminRequest['query'], deps: AdminDeps): Promise<AdminResponse> {
  const { period, costCenter: only, rows } = await usageOf(reportQuerySchema, query, deps);
  const daily = new Map<string, bigint>();
  for (const row of rows) {
    const key = `${row.day}|${row.costCenter}`;
    daily.set(key, (daily.get(key) ?? 0n) + row.costPico);
  }
  const budgets = (await deps.store.listBudgets()).filter(
    (b) => !b.applicationId && (!only || b.costCenter === only),
  );
  return {
    status: 200,
    body: {
      period,
      generatedAt: deps.now().toISOString(),
      total: totalOf(rows),
      ...(deps.catalog ? { promptCaching: promptCachingOf(rows, deps.catalog, deps.now()) } : {}),
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
      budgets: (await Promise.all(budgets.map((b) => budgetWithFigures(b, deps)))).sort((a, b) =>
        String(a.costCenter).localeCompare(String(b.costCenter)),
      ),
    },
  };
}

/** Usage of a period summed by one dimension (cost center unless `by` says otherwise). */
export async function usage(query: AdminRequest['query'], deps: AdminDeps): Promise<AdminResponse> {
  const { period, by, rows } = await usageOf(usageQuerySchema, query, deps);
  return { status: 200, body: { period, by, rows: summarise(rows, by), total: totalOf(rows) } };
}
