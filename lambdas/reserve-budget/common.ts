import type { Amount, BudgetDefinition, BudgetStore } from '../shared/rules/budget.ts';
import { type Catalog, priceOf, type ResolvedModel } from '../shared/rules/catalog.ts';
import { contentTokenBound, UnboundableContentError } from '../shared/rules/content.ts';
import { worstCaseCost } from '../shared/rules/pricing.ts';
import type { BudgetReservation } from '../shared/rules/settlement.ts';
import type { ValidatedRequest } from '../shared/rules/types.ts';

/** What ReserveBudget's parts share: its dependencies, the request it answers, amounts and repricing. */

/** A rate window item outlives its minute by this much, then the table's TTL removes it. */
export const WINDOW_KEPT_MS = 3_600_000;
export interface ReserveDeps {
  store: BudgetStore;
  catalog: Catalog;
  /** Each cost center's application inference profile ARNs by alias, for a downgraded model. */
  profiles?: Record<string, Record<string, string>> | undefined;
  /** The clock that picks the rate window (epoch milliseconds). */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** How long to wait for held money before answering "held". @default HELD_WAIT_MS */
  heldWaitMs?: number | undefined;
}

/** The request as InvokeModel must run it (the served model, the clamped `max_tokens`) and what it holds. */
export type ReservedRequest = ValidatedRequest & { reservation: BudgetReservation };

export const describe = (budget: BudgetDefinition) =>
  budget.applicationId
    ? `application '${budget.applicationId}' in cost center '${budget.costCenter}'`
    : `cost center '${budget.costCenter}'`;

export const amountOf = (request: ValidatedRequest): Amount => ({
  pico: BigInt(request.estimate.costPico),
  tokens: request.estimate.tokens,
});

/**
 * The same request served by `model` with `maxTokens`, its worst case priced again at the price
 * version the estimate used. Undefined when the model cannot take its content.
 */
export function repriced(
  request: ValidatedRequest,
  model: ResolvedModel,
  maxTokens: number,
  catalog: Catalog,
): ValidatedRequest | undefined {
  let inputTokens = request.estimate.inputTokens;
  if (model.modelId !== request.model.modelId) {
    try {
      inputTokens = contentTokenBound(request.prompt, model);
    } catch (error) {
      if (error instanceof UnboundableContentError) return undefined;
      throw error;
    }
  }
  const { priceVersion } = request.estimate;
  let price: ReturnType<typeof priceOf>;
  try {
    price = priceOf(catalog, priceVersion, model.modelId);
  } catch {
    return undefined;
  }
  return {
    ...request,
    model,
    prompt: { ...request.prompt, parameters: { ...request.prompt.parameters, maxTokens } },
    estimate: {
      inputTokens,
      outputTokens: maxTokens,
      tokens: inputTokens + maxTokens,
      costPico: worstCaseCost(inputTokens, maxTokens, price).toString(),
      priceVersion,
    },
  };
}
