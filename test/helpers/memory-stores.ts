import type { AdminBudgetStore } from '../../lambdas/budget-admin/request.ts';
import type { ApiKeyRecord, KeyStore } from '../../lambdas/shared/rules/api-keys.ts';
import {
  type BudgetDefinition,
  type BudgetScope,
  type CounterFigures,
  type CounterKey,
  keys,
  type UsageAggregate,
  ZERO_FIGURES,
} from '../../lambdas/shared/rules/budget.ts';
import type { IdempotencyRecord, IdempotencyStore } from '../../lambdas/shared/rules/idempotency.ts';

/** In-memory fakes of the stores' interfaces, for core unit tests: no AWS, no DynamoDB. */

const scopeId = (scope: BudgetScope) => `${scope.costCenter}\u0000${scope.applicationId ?? ''}`;
const keyId = (key: CounterKey) => `${key.pk}\u0000${key.sk}`;

/** Budget definitions, counter figures and usage aggregates, as the admin API reads them. */
export class MemoryBudgetStore implements AdminBudgetStore {
  readonly budgets = new Map<string, BudgetDefinition>();
  readonly counters = new Map<string, CounterFigures>();
  readonly usage: UsageAggregate[] = [];

  constructor(budgets: BudgetDefinition[] = []) {
    for (const budget of budgets) this.budgets.set(scopeId(budget), budget);
  }

  /** Set a counter's figures for a budget's period, as settled requests would have. */
  setCounter(scope: BudgetScope, periodKey: string, figures: Partial<CounterFigures>): void {
    this.counters.set(keyId(keys.counter(scope, periodKey)), { ...ZERO_FIGURES, alerted: [], ...figures });
  }

  async getBudgets(scope: BudgetScope) {
    const costCenter = this.budgets.get(scopeId({ costCenter: scope.costCenter }));
    const application = scope.applicationId ? this.budgets.get(scopeId(scope)) : undefined;
    return { ...(costCenter ? { costCenter } : {}), ...(application ? { application } : {}) };
  }

  async putBudget(budget: BudgetDefinition): Promise<void> {
    this.budgets.set(scopeId(budget), { ...budget, updatedAt: '2026-11-23T00:00:00.000Z' });
  }

  async deleteBudget(scope: BudgetScope): Promise<boolean> {
    const existed = this.budgets.delete(scopeId(scope));
    if (existed && !scope.applicationId) {
      for (const [id, budget] of this.budgets) {
        if (budget.costCenter === scope.costCenter) this.budgets.delete(id);
      }
    }
    return existed;
  }

  async listBudgets(): Promise<BudgetDefinition[]> {
    return [...this.budgets.values()];
  }

  async getCounter(key: CounterKey): Promise<CounterFigures> {
    const figures = this.counters.get(keyId(key)) ?? ZERO_FIGURES;
    return { ...figures, alerted: [...figures.alerted] };
  }

  async queryUsage(costCenter: string, period: string): Promise<UsageAggregate[]> {
    return this.usage.filter((row) => row.costCenter === costCenter && row.day.startsWith(period));
  }
}

/** API keys by ID. */
export class MemoryKeyStore implements KeyStore {
  readonly records = new Map<string, ApiKeyRecord>();

  constructor(records: ApiKeyRecord[] = []) {
    for (const record of records) this.records.set(record.keyId, record);
  }

  async putKey(record: ApiKeyRecord): Promise<void> {
    this.records.set(record.keyId, record);
  }

  async getKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    return this.records.get(keyId);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return [...this.records.values()];
  }

  async deleteKey(keyId: string): Promise<boolean> {
    return this.records.delete(keyId);
  }
}

/**
 * Idempotency-Key records by scope and key. As the DynamoDB adapter's condition does, a claim
 * takes a key that is free or expired at the claim's own time, and otherwise returns the holder.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();

  constructor(held: Array<{ scope: string; key: string; record: IdempotencyRecord }> = []) {
    for (const { scope, key, record } of held) this.records.set(idOf(scope, key), record);
  }

  async claim(scope: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord | undefined> {
    const held = this.records.get(idOf(scope, key));
    if (held && held.expiresAt >= Math.floor(record.createdAt / 1000)) return held;
    this.records.set(idOf(scope, key), record);
    return undefined;
  }

  async complete(scope: string, key: string, requestId: string, response: string, errorCode?: string) {
    const held = this.records.get(idOf(scope, key));
    if (held?.requestId !== requestId) return;
    this.records.set(idOf(scope, key), { ...held, status: 'COMPLETED', response, errorCode });
  }

  async release(scope: string, key: string, requestId: string): Promise<void> {
    if (this.records.get(idOf(scope, key))?.requestId === requestId) this.records.delete(idOf(scope, key));
  }
}

const idOf = (scope: string, key: string) => `${scope}\u0000${key}`;
