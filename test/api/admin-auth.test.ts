import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { post, startTestStack } from '../helpers/local-stack.ts';

/** COST_SENTRY_ADMIN_TOKEN set: the admin API needs it; the invoke route does not. */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ adminToken: 's3cret-admin-token' });
});
afterAll(() => stack?.close());

describe('the local admin token', () => {
  it.each([
    ['no credentials', {}],
    ['a wrong token', { authorization: 'Bearer guess' }],
    ['a token of another scheme', { authorization: 'Basic s3cret-admin-token' }],
  ])('refuses %s with 401 UNAUTHORIZED', async (_name, headers) => {
    const { status, json } = await post(stack, {}, { method: 'GET', path: '/v1/budgets', headers });
    expect([status, json.error.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('lets the bearer of the token manage budgets', async () => {
    const headers = { authorization: 'Bearer s3cret-admin-token' };
    const { status } = await post(
      stack,
      { period: 'monthly', limitUsd: 3 },
      { method: 'PUT', path: '/v1/budgets/guarded', headers },
    );
    expect(status).toBe(201);
  });

  it('is not needed to invoke', async () => {
    expect((await post(stack, invokeBody())).status).toBe(200);
  });
});
