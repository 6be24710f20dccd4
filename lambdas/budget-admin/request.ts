import type { AdviceSettings } from '../shared/rules/advice.ts';
import type { KeyStore } from '../shared/rules/api-keys.ts';
import type { BudgetStore } from '../shared/rules/budget.ts';
import type { Catalog } from '../shared/rules/catalog.ts';
import { InvalidRequestError } from '../shared/rules/errors.ts';

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

/** The part of the budget store the admin API uses: definitions, counters and usage, never holds. */
export type AdminBudgetStore = Pick<
  BudgetStore,
  | 'getBudgets'
  | 'putBudget'
  | 'deleteBudget'
  | 'listBudgets'
  | 'getCounter'
  | 'getCounters'
  | 'getWindow'
  | 'queryUsage'
  | 'querySystemPrompts'
>;

/** What the admin API reads and writes: budgets and their figures, API keys, and the time. */
export interface AdminDeps {
  store: AdminBudgetStore;
  keys: KeyStore;
  now: () => Date;
  /** The catalog and the advisor's settings, for GET /v1/advice. */
  catalog?: Catalog | undefined;
  advice?: AdviceSettings | undefined;
}

/** A path segment, percent-decoded; malformed encoding (`%ZZ`, a cut UTF-8 sequence) is the client's mistake. */
export function decodePathSegment(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InvalidRequestError('The path is not valid percent-encoded UTF-8.', [
      { path: name, message: 'must be valid percent-encoded UTF-8' },
    ]);
  }
}
