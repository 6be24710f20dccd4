import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sweepReservations } from '../../lambdas/sweep-reservations/core.ts';
import type { LocalStack } from '../../local/stack.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/dynamo-proxy.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { budgetForWorstCases, counters } from '../helpers/local-runtime.ts';
import { post, startTestStack } from '../helpers/local-stack.ts';

/**
 * Faults over real HTTP: Bedrock throttling storms, timeouts and errors from the simulator, the
 * budget store failing mid-run. After every case the budget holds: spent never above the limit,
 * nothing left reserved once swept, and no internals in any error body.
 */
let stack: LocalStack;
let proxy: FaultProxy;
let limitPico: bigint;
const COST_CENTER = 'faults';
const body = (content: string, maxTokens = 64) => invokeBody({ costCenter: COST_CENTER, content, maxTokens });

beforeAll(async () => {
  stack = await startTestStack({
    bedrockTimeoutMs: 1_000,
    sweepIntervalMs: 0,
    interposeDynamo: async (endpoint) => {
      proxy = await startFaultProxy(endpoint);
      return proxy.endpoint;
    },
  });
  limitPico = await budgetForWorstCases(stack.runtime, body('x'.repeat(40)), 200n);
});
afterAll(async () => {
  await stack?.close();
  await proxy?.close();
});
afterEach(async () => {
  proxy.failing = new Set();
  proxy.fault = undefined;
  // Sweep as a later scheduled run would, long after every execution ended.
  await sweepReservations({ store: stack.runtime.store, now: () => new Date(Date.now() + 10 * 60_000) });
  const figures = await counters(stack.runtime, COST_CENTER);
  expect(figures.spentPico).toBeLessThanOrEqual(limitPico);
  expect(figures.reservedPico).toBe(0n);
});

const calls = () => stack.runtime.simulator?.stats.calls ?? 0;
const noInternals = (json: unknown) =>
  expect(JSON.stringify(json)).not.toMatch(/arn:|Exception|simulated|stack|\.ts:/i);

describe('Bedrock faults', () => {
  it('a throttling storm: 40 concurrent requests all throttled get 503 with Retry-After, nothing charged', async () => {
    const spent = (await counters(stack.runtime, COST_CENTER)).spentPico;
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => post(stack, body(`storm ${i} [[sim:error=ThrottlingException]]`))),
    );
    expect(new Set(answers.map((a) => `${a.status} ${a.json.error?.code}`))).toEqual(
      new Set(['503 MODEL_THROTTLED']),
    );
    expect(answers.every((a) => a.headers.get('retry-after') === '2')).toBe(true);
    for (const a of answers) noInternals(a.json);
    expect((await counters(stack.runtime, COST_CENTER)).spentPico).toBe(spent);
  });

  it('a passing storm: throttled once, every request succeeds on its retry', async () => {
    const before = calls();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(stack, body(`passing ${i} [[sim:error=ThrottlingException;times=1]]`)),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(calls() - before).toBe(40);
  });

  it.each([
    ['InternalServerException', 502, 'MODEL_ERROR', 3],
    ['ServiceUnavailableException', 502, 'MODEL_ERROR', 3],
    ['ModelNotReadyException', 502, 'MODEL_ERROR', 3],
    ['ServiceQuotaExceededException', 503, 'MODEL_THROTTLED', 3],
    ['ModelErrorException', 502, 'MODEL_ERROR', 1],
    ['AccessDeniedException', 502, 'MODEL_ERROR', 1],
    ['ResourceNotFoundException', 502, 'MODEL_ERROR', 1],
    ['ModelTimeoutException', 504, 'MODEL_TIMEOUT', 1],
    ['SomethingNobodyKnows', 502, 'MODEL_ERROR', 1],
  ])('%s answers %i %s after %i attempt(s)', async (error, status, code, attempts) => {
    const before = calls();
    const { status: got, json } = await post(stack, body(`[[sim:error=${error}]]`));
    expect([got, json.error.code]).toEqual([status, code]);
    expect(calls() - before).toBe(attempts);
    noInternals(json);
  });

  it('timeouts: concurrent slow answers get 504, are never retried, and are charged their reservation', async () => {
    const spent = (await counters(stack.runtime, COST_CENTER)).spentPico;
    const before = calls();
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => post(stack, body(`slow ${i} [[sim:latency_ms=2000]]`, 16))),
    );
    expect(answers.map((a) => a.json.error?.code)).toEqual(answers.map(() => 'MODEL_TIMEOUT'));
    expect(calls() - before).toBe(5);
    expect((await counters(stack.runtime, COST_CENTER)).spentPico).toBeGreaterThan(spent);
  });
});

describe('budget store faults', () => {
  it('failing before the reservation: 500, fail closed, Bedrock never called', async () => {
    const before = calls();
    proxy.failing = 'all';
    const { status, json } = await post(stack, body('closed'));
    proxy.failing = new Set();
    expect([status, json]).toEqual([
      500,
      { error: { code: 'INTERNAL_ERROR', message: 'Internal error.', requestId: json.error.requestId } },
    ]);
    expect(calls()).toBe(before);
  });

  it('failing in the middle of a run (after the reservation, before the settle): 500, and the sweeper returns the reservation', async () => {
    const answer = post(stack, body('midway [[sim:latency_ms=900]]'));
    // Let ValidateRequest and ReserveBudget through, then take the store away while Bedrock answers.
    let held = 0n;
    for (let waited = 0; held === 0n && waited < 800; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      held = (await counters(stack.runtime, COST_CENTER)).reservedPico;
    }
    expect(held).toBeGreaterThan(0n);
    proxy.failing = 'all';
    const { status, json } = await answer;
    proxy.failing = new Set();
    expect([status, json.error.code]).toEqual([500, 'INTERNAL_ERROR']);
    noInternals(json);
    // The failure path could not reach the store either: the reservation is still held, conservatively.
    expect((await counters(stack.runtime, COST_CENTER)).reservedPico).toBe(held);
  });

  it('failing on the application counter after the cost center was held: 500, Bedrock never called, nothing left held or charged', async () => {
    await stack.runtime.store.putBudget({
      costCenter: COST_CENTER,
      applicationId: 'docs-helper',
      period: 'monthly',
      limitPico: 10n ** 15n,
      alertThresholds: [],
    });
    const before = await counters(stack.runtime, COST_CENTER);
    const bedrockCalls = calls();
    proxy.fault = (operation, request) =>
      operation === 'UpdateItem' && request.includes('APP#docs-helper#PERIOD#') ? 'fail' : undefined;
    const { status, json } = await post(stack, body('partial'));
    proxy.fault = undefined;
    await stack.runtime.store.deleteBudget({ costCenter: COST_CENTER, applicationId: 'docs-helper' });

    expect([status, json.error.code]).toEqual([500, 'INTERNAL_ERROR']);
    expect(calls()).toBe(bedrockCalls);
    // Returned at once by ReserveBudget itself, not left for the sweeper to charge.
    const after = await counters(stack.runtime, COST_CENTER);
    expect(after.reservedPico).toBe(before.reservedPico);
    expect(after.spentPico).toBe(before.spentPico);
  });

  it('a reservation whose answer was lost, and whose clean-up failed: the failure handler finds and returns it', async () => {
    const before = await counters(stack.runtime, COST_CENTER);
    const bedrockCalls = calls();
    // Until the failure handler runs (the second budget read), every write of the cost
    // center's counter is applied but answered with an error, and every read fails.
    let budgetReads = 0;
    proxy.fault = (operation, request) => {
      if (operation === 'BatchGetItem') budgetReads++;
      if (budgetReads >= 2) return undefined;
      if (operation === 'GetItem') return 'fail';
      return operation === 'UpdateItem' && request.includes(`"CC#${COST_CENTER}"`) ? 'lost' : undefined;
    };
    const { status, json } = await post(stack, body('lost answer'));
    proxy.fault = undefined;

    expect([status, json.error.code]).toEqual([500, 'INTERNAL_ERROR']);
    expect(calls()).toBe(bedrockCalls);
    const after = await counters(stack.runtime, COST_CENTER);
    expect(after.reservedPico).toBe(before.reservedPico);
    expect(after.spentPico).toBe(before.spentPico);
  });
});
