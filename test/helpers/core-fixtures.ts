import { readFileSync } from 'node:fs';
import type { BudgetDefinition } from '../../lambdas/shared/rules/budget.ts';
import { resolveModel } from '../../lambdas/shared/rules/catalog.ts';
import type { Period } from '../../lambdas/shared/rules/period.ts';
import { scopeOf } from '../../lambdas/shared/rules/settlement.ts';
import type { Reservation, ValidatedRequest } from '../../lambdas/shared/rules/types.ts';
import { exampleCatalog } from './fixtures.ts';
import { MemoryBudgetStore } from './memory-budget-store.ts';

/** Read a JSON data file under test/fixtures/. */
export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** A budget as a fixture writes it: pico-USD as a decimal string (JSON has no bigint). */
export interface BudgetFixture {
  costCenter: string;
  applicationId?: string;
  period: Period;
  limitPico?: string;
  limitTokens?: number;
  alertThresholds?: number[];
  fit?: 'clamp';
  minOutputTokens?: number;
  rateLimits?: BudgetDefinition['rateLimits'];
  policies?: BudgetDefinition['policies'];
  cache?: BudgetDefinition['cache'];
}

export function budgetOf(fixture: BudgetFixture): BudgetDefinition {
  return {
    ...fixture,
    limitPico: fixture.limitPico === undefined ? undefined : BigInt(fixture.limitPico),
    alertThresholds: fixture.alertThresholds ?? [],
  };
}

/** A store holding these budgets. */
export function storeWith(budgets: BudgetFixture[]): MemoryBudgetStore {
  return new MemoryBudgetStore(budgets.map(budgetOf));
}

export const catalog = exampleCatalog();
export const RECEIVED_AT = Date.parse('2026-11-23T10:00:00Z');

export interface RequestFixture {
  requestId?: string;
  model?: string;
  applicationId?: string;
  costPico?: string;
  tokens?: number;
  outputTokens?: number;
  costCenter?: string;
  /** The prompt's text (default "Hello"). */
  text?: string;
  temperature?: number;
  /** The request came with `Cache-Control: no-cache`. */
  noCache?: boolean;
}

/** A request as ValidateRequest hands it on, for the support cost center. */
export function validatedRequest(fixture: RequestFixture = {}): ValidatedRequest {
  const model = resolveModel(catalog, fixture.model ?? 'nova-lite');
  if (!model) throw new Error(`no model ${fixture.model}`);
  const tokens = fixture.tokens ?? 161;
  const outputTokens = fixture.outputTokens ?? 100;
  return {
    requestId: fixture.requestId ?? 'req-1',
    receivedAt: RECEIVED_AT,
    model,
    prompt: {
      messages: [{ role: 'user', content: [{ text: fixture.text ?? 'Hello' }] }],
      parameters: {
        maxTokens: outputTokens,
        ...(fixture.temperature !== undefined ? { temperature: fixture.temperature } : {}),
      },
    },
    ...(fixture.noCache ? { noCache: true as const } : {}),
    tags: {
      applicationId: fixture.applicationId ?? 'docs-helper',
      costCenter: fixture.costCenter ?? 'support',
      environment: 'production',
    },
    estimate: {
      inputTokens: tokens - outputTokens,
      outputTokens,
      tokens,
      costPico: fixture.costPico ?? '27660000',
      priceVersion: '2026-12-01',
    },
  };
}

/** Hold a request's estimate on each of its budgets' counters, as ReserveBudget would have. */
export function reserveIn(store: MemoryBudgetStore, request: ValidatedRequest): Reservation {
  const at = new Date(request.receivedAt);
  const budgets = [...store.budgets.values()].filter(
    (b) =>
      b.costCenter === request.tags.costCenter &&
      (b.applicationId === undefined || b.applicationId === request.tags.applicationId),
  );
  budgets.sort((a, b) => (a.applicationId ? 1 : 0) - (b.applicationId ? 1 : 0));
  const scopes = budgets.map((budget) => scopeOf(budget, at));
  const amount = { pico: BigInt(request.estimate.costPico), tokens: request.estimate.tokens };
  for (const scope of scopes) store.hold(scope, request.requestId, amount, at);
  return {
    requestId: request.requestId,
    scopes,
    costPico: request.estimate.costPico,
    tokens: request.estimate.tokens,
  };
}
