import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../lambdas/shared/budget.ts';
import { periodKey } from '../../lambdas/shared/period.ts';
import { STALE_AFTER_SECONDS, sweepReservations } from '../../lambdas/sweep-reservations/core.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { ASL_PATH } from '../../state-machines/definition.ts';
import { startTestRuntime } from '../helpers/local-runtime.ts';

let runtime: LocalRuntime;
beforeAll(async () => {
  runtime = await startTestRuntime({ sweepIntervalMs: 0 });
});
afterAll(() => runtime?.close());

const key = keys.costCenterCounter('support', periodKey('monthly', new Date()));
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

describe('the reservation sweeper', () => {
  it('waits longer than any execution can run', () => {
    const asl = JSON.parse(readFileSync(ASL_PATH, 'utf8')) as { TimeoutSeconds: number };
    expect(STALE_AFTER_SECONDS).toBeGreaterThan(asl.TimeoutSeconds);
  });

  it('closes reservations older than that, charged in full, once, and leaves younger ones', async () => {
    const before = await runtime.store.getCounter(key);
    await runtime.store.reserve(key, 'crashed-1', { pico: 1000n, tokens: 10 }, {}, minutesAgo(10));
    await runtime.store.reserve(key, 'crashed-2', { pico: 500n, tokens: 5 }, {}, minutesAgo(3));
    await runtime.store.reserve(key, 'running', { pico: 700n, tokens: 7 }, {}, new Date());

    const first = await sweepReservations({ store: runtime.store, now: () => new Date() });
    expect(first).toEqual({ found: 2, closed: 2, chargedPico: 1500n, failed: 0 });
    const after = await runtime.store.getCounter(key);
    expect(after.reservedPico - before.reservedPico).toBe(700n);
    // The requests may have reached Bedrock: charged, conservatively, never refunded.
    expect(after.spentPico - before.spentPico).toBe(1500n);

    // Again, and a late settle of a swept request: neither returns anything twice.
    expect(await sweepReservations({ store: runtime.store, now: () => new Date() })).toMatchObject({
      closed: 0,
    });
    const late = await runtime.store.settle(
      key,
      'crashed-1',
      { pico: 1000n, tokens: 10 },
      { pico: 0n, tokens: 0 },
    );
    expect(late.settled).toBe(false);
    expect((await runtime.store.getCounter(key)).reservedPico - before.reservedPico).toBe(700n);

    await runtime.store.settle(key, 'running', { pico: 700n, tokens: 7 }, { pico: 0n, tokens: 0 });
  });

  it('runs through its handler as the schedule runs it', async () => {
    await runtime.store.reserve(key, 'crashed-3', { pico: 42n, tokens: 1 }, {}, minutesAgo(60));
    await expect(runtime.sweep()).resolves.toMatchObject({ closed: 1, chargedUsd: 4.2e-11 });
  });
});
