import type { MeterRecord } from '../shared/adapters/metering.ts';
import { type BudgetStore, budgetView, utilization, ZERO_FIGURES } from '../shared/rules/budget.ts';
import { type Catalog, priceOf } from '../shared/rules/catalog.ts';
import { picoToUsd } from '../shared/rules/money.ts';
import { type Usage, usageCost, usageTokens } from '../shared/rules/pricing.ts';
import { type BudgetAlert, budgetOfScope, settleRequest } from '../shared/rules/settlement.ts';
import type { Invocation, Reservation, Tags, WorkflowState } from '../shared/rules/types.ts';

export interface SettleDeps {
  store: BudgetStore;
  catalog: Catalog;
  now: () => number;
  onError: (what: string, error: unknown) => void;
}

/** The 200 body of POST /v1/invoke (DESIGN section 3). */
export interface InvokeResponse {
  requestId: string;
  model: { alias: string; modelId: string };
  output: { role: 'assistant'; content: string };
  stopReason: string;
  usage: Usage;
  cost: { usd: number; priceVersion: string };
  budget: Record<string, unknown>;
  /** The application's own budget, when it has one. */
  applicationBudget?: Record<string, unknown>;
  tags: Tags & { requestId: string; timestamp: string };
  latencyMs: { model: number; total: number };
  /** What the client should know but that did not stop the request (a Legacy model's end of life). */
  warnings?: string[];
}

/**
 * Settle the reservation against the real usage, priced at the price version the estimate used,
 * and build the response. A retry after a settle that went through charges nothing more.
 */
export async function settleUsage(
  state: WorkflowState & { reservation: Reservation; invocation: Invocation },
  deps: SettleDeps,
): Promise<{ response: InvokeResponse; record: MeterRecord; alerts: BudgetAlert[]; settled: boolean }> {
  const { reservation, invocation, estimate, model, tags, requestId } = state;
  const receivedAt = new Date(state.receivedAt);
  const costPico = usageCost(invocation.usage, priceOf(deps.catalog, estimate.priceVersion, model.modelId));
  const { figures, alerts, settled } = await settleRequest(
    deps.store,
    reservation,
    { pico: costPico, tokens: usageTokens(invocation.usage) },
    { tags, modelId: model.modelId, usage: invocation.usage, at: receivedAt },
    deps.onError,
  );

  const views = reservation.scopes.map((scope, i) =>
    budgetView(budgetOfScope(scope), scope.periodKey, figures[i] ?? ZERO_FIGURES, receivedAt),
  );
  const costCenterScope = reservation.scopes[0];
  const costCenterFigures = figures[0];
  if (!costCenterScope || !costCenterFigures || !views[0])
    throw new Error('a reservation holds its cost center');
  const timestamp = receivedAt.toISOString();
  const latencyMs = { model: invocation.latencyMs, total: Math.max(0, deps.now() - state.receivedAt) };
  return {
    response: {
      requestId,
      model: { alias: model.alias, modelId: model.modelId },
      output: invocation.output,
      stopReason: invocation.stopReason,
      usage: invocation.usage,
      cost: { usd: picoToUsd(costPico), priceVersion: estimate.priceVersion },
      budget: views[0],
      ...(views[1] ? { applicationBudget: views[1] } : {}),
      tags: { ...tags, requestId, timestamp },
      latencyMs,
      ...(model.warning ? { warnings: [model.warning] } : {}),
    },
    record: {
      requestId,
      timestamp,
      callerId: state.callerId,
      tags,
      modelId: model.modelId,
      decision: 'allowed',
      usage: invocation.usage,
      costPico,
      priceVersion: estimate.priceVersion,
      latencyMs,
      budgetUtilization: utilization(budgetOfScope(costCenterScope), costCenterFigures),
    },
    alerts,
    settled,
  };
}
