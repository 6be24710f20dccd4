import { describe, expect, it } from 'vitest';
import { type AdminRequest, type AdminResponse, handleAdmin } from '../../lambdas/budget-admin/core.ts';
import { type ApiKeyRecord, parseApiKey, secretMatches } from '../../lambdas/shared/rules/api-keys.ts';
import { budgetDefinitionOf, budgetInputSchema } from '../../lambdas/shared/rules/budget-input.ts';
import { SentryError, statusOf } from '../../lambdas/shared/rules/errors.ts';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import fixture from '../fixtures/budget-admin.json' with { type: 'json' };
import { MemoryBudgetStore } from '../helpers/memory-budget-store.ts';
import { MemoryKeyStore } from '../helpers/memory-stores.ts';

/** One admin call and what it must answer; `send` is the JSON body, `rawBody` the text as sent. */
interface Case {
  name: string;
  method: string;
  path: string;
  query?: Record<string, string>;
  send?: unknown;
  rawBody?: string;
  status: number;
  body?: Record<string, unknown>;
  error?: Record<string, unknown>;
  /** The budgets stored after the call, as `costCenter` or `costCenter/applicationId`. */
  budgetsAfter?: string[];
  /** How many API keys are stored after the call. */
  keysAfter?: number;
}

/** The fixture's budgets, counters, usage and keys in in-memory stores, at the fixture's time. */
async function setup() {
  const store = new MemoryBudgetStore(
    fixture.budgets.map(({ costCenter, applicationId, ...input }) =>
      budgetDefinitionOf(
        { costCenter, ...(applicationId ? { applicationId } : {}) },
        budgetInputSchema.parse(input),
        'config',
      ),
    ),
  );
  for (const { costCenter, periodKey, spentUsd, spentTokens } of fixture.counters) {
    // Spent as a settled request leaves it: held, then settled at what it reserved.
    const key = keys.counter({ costCenter }, periodKey);
    const amount = { pico: usdToPico(spentUsd), tokens: spentTokens };
    store.hold(key, 'settled-before', amount, new Date(fixture.now));
    await store.settle(key, 'settled-before', amount, amount);
  }
  store.usage.push(
    ...fixture.usage.map(({ costUsd, ...row }) => ({
      ...row,
      cacheReadInputTokens: 0,
      cacheWriteInputTokens: 0,
      costPico: usdToPico(costUsd),
    })),
  );
  const keyStore = new MemoryKeyStore(fixture.keys as ApiKeyRecord[]);
  return { store, keyStore, deps: { store, keys: keyStore, now: () => new Date(fixture.now) } };
}

const requestOf = (c: Case): AdminRequest => ({
  method: c.method,
  path: c.path,
  query: c.query ?? {},
  body: c.rawBody ?? (c.send === undefined ? null : JSON.stringify(c.send)),
});

/** The answer, or the SentryError thrown for it as the handler turns it into a status and a body. */
async function answer(
  c: Case,
  deps: Awaited<ReturnType<typeof setup>>['deps'],
): Promise<AdminResponse & { error?: Record<string, unknown> }> {
  try {
    return await handleAdmin(requestOf(c), deps);
  } catch (error) {
    if (!(error instanceof SentryError)) throw error;
    return { status: statusOf(error.code), error: { code: error.code, ...error.fields } };
  }
}

const scopesOf = async (store: MemoryBudgetStore) =>
  (await store.listBudgets())
    .map((b) => (b.applicationId ? `${b.costCenter}/${b.applicationId}` : b.costCenter))
    .sort();

async function check(c: Case) {
  const { store, keyStore, deps } = await setup();

  const got = await answer(c, deps);

  expect(got.status).toBe(c.status);
  if (c.error) expect(got.error).toMatchObject(c.error);
  else expect(got.error).toBeUndefined();
  if (c.body) expect(got.body).toMatchObject(c.body);
  if (c.status === 204) expect(got.body).toBeUndefined();
  if (c.budgetsAfter) expect(await scopesOf(store)).toEqual(c.budgetsAfter);
  if (c.keysAfter !== undefined) expect(keyStore.records.size).toBe(c.keysAfter);
}

describe('the admin core', () => {
  describe('routes', () => {
    it.each(fixture.routing as Case[])('$name', check);
  });

  describe('budgets', () => {
    it.each(fixture.budgetCases as Case[])('$name', check);
  });

  describe('API keys', () => {
    it.each(fixture.keyCases as Case[])('$name', check);

    it('stores only the hash of a new key, which the key shown once matches', async () => {
      const { keyStore, deps } = await setup();

      const created = await handleAdmin(
        { method: 'POST', path: '/v1/keys', query: {}, body: JSON.stringify({ costCenters: ['support'] }) },
        deps,
      );

      const { apiKey, keyId } = created.body as { apiKey: string; keyId: string };
      const parsed = parseApiKey(apiKey);
      const stored = keyStore.records.get(keyId);
      expect(parsed?.keyId).toBe(keyId);
      expect(JSON.stringify(stored)).not.toContain(parsed?.secret);
      expect(secretMatches(parsed?.secret ?? '', stored?.secretHash ?? '')).toBe(true);
    });
  });
});
