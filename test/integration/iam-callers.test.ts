import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime.ts';
import { exampleConfig, invokeBody } from '../helpers/fixtures.ts';
import { errorOf, startTestRuntime } from '../helpers/local-runtime.ts';

/** IAM mode: the request template passes the SigV4 principal; the config binds principals to tags. */
let runtime: LocalRuntime;
beforeAll(async () => {
  const config = exampleConfig();
  runtime = await startTestRuntime({
    config: {
      ...config,
      auth: {
        invoke: 'iam',
        callers: [{ principal: 'arn:aws:iam::111122223333:role/docs-helper', costCenters: ['support'] }],
      },
    },
  });
});
afterAll(() => runtime?.close());

const run = (principal: string, costCenter: string) =>
  runtime.workflow.run({
    requestId: randomUUID(),
    receivedAt: Date.now(),
    caller: { principal, keyId: '', costCenters: '', applicationIds: '', environments: '' },
    body: JSON.stringify(invokeBody({ costCenter })),
  });

describe('IAM callers bound by the config', () => {
  it('lets a session of a bound role charge its cost center', async () => {
    expect((await run('arn:aws:sts::111122223333:assumed-role/docs-helper/lambda', 'support')).status).toBe(
      'SUCCEEDED',
    );
  });

  it.each([
    ['another cost center', 'arn:aws:sts::111122223333:assumed-role/docs-helper/lambda', 'sales'],
    ['an unbound principal', 'arn:aws:sts::111122223333:assumed-role/intruder/x', 'support'],
  ])('refuses %s with FORBIDDEN before reserving anything', async (_name, principal, costCenter) => {
    const calls = runtime.simulator?.stats.calls;
    const result = await run(principal, costCenter);
    expect([result.status, result.error, errorOf(result).code]).toEqual(['FAILED', 'FORBIDDEN', 'FORBIDDEN']);
    expect(runtime.simulator?.stats.calls).toBe(calls);
  });
});
