import { describe, expect, it } from 'vitest';
import { claimIdempotencyKey } from '../../lambdas/claim-idempotency-key/core.ts';
import { SentryError } from '../../lambdas/shared/rules/errors.ts';
import type { IdempotencyRecord } from '../../lambdas/shared/rules/idempotency.ts';
import type { ValidatedRequest } from '../../lambdas/shared/rules/types.ts';
import fixture from '../fixtures/claim-idempotency-key.json' with { type: 'json' };
import { MemoryIdempotencyStore } from '../helpers/memory-stores.ts';

type Held = { scope: string; key: string; record: IdempotencyRecord };

interface Case {
  name: string;
  request: Pick<ValidatedRequest, 'requestId' | 'callerId' | 'idempotency'>;
  held: Held[];
  result?: { replay: string | null; replayError: string | null };
  storedAfter?: Held[];
  error?: string;
}

const cases = fixture.cases as Case[];

/** The core reads only the request's ID, caller and key: the rest of a validated request is irrelevant here. */
const requestOf = (c: Case) => c.request as ValidatedRequest;

describe('claimIdempotencyKey', () => {
  it.each(cases.filter((c) => c.result))('$name', async (c) => {
    const store = new MemoryIdempotencyStore(c.held);

    const result = await claimIdempotencyKey(requestOf(c), { store, now: () => fixture.now });

    expect(result).toEqual(c.result);
    if (c.storedAfter) {
      expect([...store.records.values()]).toEqual(c.storedAfter.map((h) => h.record));
      for (const held of c.storedAfter)
        expect(await store.claim(held.scope, held.key, held.record)).toBeDefined();
    }
  });

  it.each(cases.filter((c) => c.error))('$name', async (c) => {
    const store = new MemoryIdempotencyStore(c.held);

    const claim = claimIdempotencyKey(requestOf(c), { store, now: () => fixture.now });

    await expect(claim).rejects.toBeInstanceOf(SentryError);
    await expect(claim).rejects.toMatchObject({ code: c.error });
    expect([...store.records.values()]).toEqual(c.held.map((h) => h.record));
  });
});
