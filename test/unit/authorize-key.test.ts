import { describe, expect, it } from 'vitest';
import { type AuthorizerEvent, authorizeKey } from '../../lambdas/authorize-key/core.ts';
import type { ApiKeyRecord } from '../../lambdas/shared/rules/api-keys.ts';
import { UnauthorizedError } from '../../lambdas/shared/rules/errors.ts';
import fixture from '../fixtures/authorize-key.json' with { type: 'json' };
import { MemoryKeyStore } from '../helpers/memory-stores.ts';

interface Case {
  name: string;
  headers: AuthorizerEvent['headers'];
  allow?: { principalId: string; context: Record<string, string> };
}

const cases = fixture.cases as Case[];
const store = () => new MemoryKeyStore(fixture.keys as ApiKeyRecord[]);
const eventOf = (c: Case): AuthorizerEvent => ({ methodArn: fixture.methodArn, headers: c.headers });

describe('authorizeKey', () => {
  it.each(cases.filter((c) => c.allow))('$name', async (c) => {
    const result = await authorizeKey(eventOf(c), store());

    expect(result).toEqual({
      principalId: c.allow?.principalId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: fixture.methodArn }],
      },
      context: c.allow?.context,
    });
  });

  it.each(cases.filter((c) => !c.allow))('$name, with the catalog UNAUTHORIZED error', async (c) => {
    const refusal = authorizeKey(eventOf(c), store());

    await expect(refusal).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(refusal).rejects.toMatchObject({ code: 'UNAUTHORIZED', name: 'UnauthorizedError' });
  });

  it('lets a store failure through as it is, so the call fails closed rather than as a 401', async () => {
    const failing = new MemoryKeyStore();
    failing.getKey = async () => {
      throw new Error('table unavailable');
    };
    const [first] = cases;

    await expect(authorizeKey(eventOf(first as Case), failing)).rejects.toThrow('table unavailable');
  });
});
