import {
  type BudgetDefinition,
  type RateLimitName,
  secondsUntilNextWindow,
  type WindowFigures,
  windowMinute,
} from '../shared/rules/budget.ts';
import { RateLimitedError } from '../shared/rules/errors.ts';
import { settleWindows, type WindowHold } from '../shared/rules/settlement.ts';
import { keys } from '../shared/rules/table.ts';
import type { ValidatedRequest } from '../shared/rules/types.ts';

import { describe, type ReserveDeps, WINDOW_KEPT_MS } from './common.ts';

/** Rate limits: the UTC minute's request and token windows, held before the budget. */

/**
 * Count the request in each scope's rate window, one conditional write per scope with rate
 * limits. A refusal gives back the counts already made and says which limit refused.
 */
export async function holdWindows(
  request: ValidatedRequest,
  budgets: BudgetDefinition[],
  deps: ReserveDeps,
): Promise<WindowHold[]> {
  const now = new Date(deps.now());
  const minute = windowMinute(now);
  const tokens = request.estimate.tokens;
  const held: WindowHold[] = [];
  const attempted: WindowHold[] = [];
  try {
    for (const budget of budgets) {
      const limits = budget.rateLimits;
      if (!limits) continue;
      const window = { ...keys.rateWindow(budget, minute), tokens };
      attempted.push(window);
      const expiresAt = new Date(Date.parse(`${minute}:00Z`) + 60_000 + WINDOW_KEPT_MS);
      const { reserved, figures } = await deps.store.reserveWindow(
        window,
        request.requestId,
        tokens,
        limits,
        expiresAt,
      );
      if (!reserved) {
        attempted.pop();
        const limit = refusingLimit(limits, figures, tokens);
        const value = limits[limit];
        throw new RateLimitedError(
          `The ${limit === 'requestsPerMinute' ? `limit of ${value} requests` : `limit of ${value} tokens`} ` +
            `per minute of ${describe(budget)} is reached in the minute ${minute} UTC` +
            (limit === 'tokensPerMinute'
              ? ` (this request counts ${tokens} tokens at its worst case).`
              : '.'),
          limit,
          {
            scope: budget.applicationId ? 'application' : 'costCenter',
            costCenter: budget.costCenter,
            ...(budget.applicationId ? { applicationId: budget.applicationId } : {}),
            rateLimits: limits,
            window: { minute, requests: figures.requests, tokens: figures.tokens },
          },
          secondsUntilNextWindow(now),
        );
      }
      held.push(window);
    }
  } catch (error) {
    await settleWindows(deps.store, request.requestId, attempted, undefined).catch(() => undefined);
    throw error;
  }
  return held;
}

export function refusingLimit(
  limits: NonNullable<BudgetDefinition['rateLimits']>,
  figures: WindowFigures,
  tokens: number,
): RateLimitName {
  if (limits.requestsPerMinute !== undefined && figures.requests >= limits.requestsPerMinute) {
    return 'requestsPerMinute';
  }
  return limits.tokensPerMinute !== undefined && figures.tokens + tokens > limits.tokensPerMinute
    ? 'tokensPerMinute'
    : 'requestsPerMinute';
}

/**
 * Count a rate-limited request in its day's usage aggregate, for the report: one unconditional
 * write on the refusal path only. A failure is ignored: the refusal stands either way.
 */
export async function countRateLimited(
  request: ValidatedRequest,
  at: Date,
  deps: ReserveDeps,
): Promise<void> {
  await deps.store
    .addUsage({
      day: at.toISOString().slice(0, 10),
      costCenter: request.tags.costCenter,
      applicationId: request.tags.applicationId,
      environment: request.tags.environment,
      modelId: request.model.modelId,
      requests: 0,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
      costPico: 0n,
      rateLimited: 1,
    })
    .catch(() => undefined);
}
