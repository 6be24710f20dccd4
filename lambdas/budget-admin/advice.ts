import { advise, daysOfData } from '../shared/rules/advice.ts';
import { sumSystemPromptUses } from '../shared/rules/system-prompts.ts';
import type { AdminDeps, AdminRequest, AdminResponse } from './request.ts';
import { reportQuerySchema, usageOf } from './usage-report.ts';

/**
 * GET /v1/advice: the advisor's recommendations for a period (this month by default), one cost
 * center or all, from the usage aggregates; biggest monthly saving first.
 */
export async function advice(query: AdminRequest['query'], deps: AdminDeps): Promise<AdminResponse> {
  if (!deps.catalog || !deps.advice)
    throw new Error('the admin API was built without the catalog or the advice settings');
  const { period, rows } = await usageOf(reportQuerySchema, query, deps);
  const costCenters = [...new Set(rows.map((row) => row.costCenter))];
  const systemPrompts = sumSystemPromptUses(
    (await Promise.all(costCenters.map((cc) => deps.store.querySystemPrompts(cc, period)))).flat(),
  );
  const recommendations = advise(deps.catalog, deps.advice, rows, systemPrompts, deps.now());
  return {
    status: 200,
    body: {
      period,
      asOf: deps.advice.asOf,
      generatedAt: deps.now().toISOString(),
      daysOfData: daysOfData(rows),
      totalMonthlySavingUsd:
        Math.round(recommendations.reduce((sum, r) => sum + r.monthlySavingUsd, 0) * 1e6) / 1e6,
      recommendations,
    },
  };
}
