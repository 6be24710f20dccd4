import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodKey } from '../../lambdas/shared/rules/period.ts';
import { keys } from '../../lambdas/shared/rules/table.ts';
import { STALE_AFTER_SECONDS, sweepReservations } from '../../lambdas/sweep-reservations/core.ts';
import type { LocalRuntime } from '../../local/runtime.ts';
import { ASL_PATH } from '../../state-machines/definition.ts';
import type { FaultProxy } from '../helpers/dynamo-proxy.ts';
import { startProxiedRuntime } from '../helpers/local-runtime.ts';

let runtime: LocalRuntime;
let proxy: FaultProxy;
beforeAll(async () => {
  ({ runtime, proxy } = await startProxiedRuntime({ sweepIntervalMs: 0 }));
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
    expect(first).toMatchObject({ found: 2, closed: 2, chargedPico: 1500n, failed: 0 });
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

describe('what the sweeper reads', () => {
  it('reads the open-counters index and the counters it lists, never the whole table', async () => {
    // Plenty of items that are not open counters: usage aggregates of many days.
    for (let day = 1; day <= 40; day++) {
      await runtime.store.addUsage({
        day: `2026-01-${String((day % 28) + 1).padStart(2, '0')}`,
        costCenter: 'sales',
        applicationId: `app-${day}`,
        environment: 'dev',
        modelId: 'amazon.nova-lite-v1:0',
        requests: 1,
        inputTokens: 1,
        outputTokens: 1,
        cacheReadInputTokens: 0,
        cacheWriteInputTokens: 0,
        costPico: 1n,
      });
    }
    await runtime.store.reserve(key, 'open-1', { pico: 10n, tokens: 1 }, {}, minutesAgo(10));
    proxy.calls.clear();
    // The handler, whose store goes through the counting proxy.
    await expect(runtime.sweep()).resolves.toMatchObject({ closed: 1 });
    expect(proxy.calls.get('Scan')).toBeUndefined();
    expect(proxy.calls.get('Query')).toBe(1);
    // The index lists the open counter only: one read of it, one close.
    expect(proxy.calls.get('GetItem')).toBe(1);
  });

  it('takes a counter that holds nothing off the index, so the next sweep reads nothing', async () => {
    await runtime.store.reserve(key, 'quick', { pico: 10n, tokens: 1 }, {}, new Date());
    await runtime.store.release(key, 'quick');
    const first = await sweepReservations({ store: runtime.store, now: () => new Date() });
    expect(first.forgotten).toBeGreaterThanOrEqual(1);
    proxy.calls.clear();
    await expect(runtime.sweep()).resolves.toMatchObject({ found: 0, forgotten: 0 });
    expect(proxy.calls.get('GetItem')).toBeUndefined();
  });
});

describe('a swept charge reaches finance', () => {
  it('is aggregated by application, environment and model, metered, and crosses alert thresholds', async () => {
    await runtime.store.putBudget({
      costCenter: 'swept',
      period: 'monthly',
      limitPico: 1000n,
      alertThresholds: [0.5],
    });
    const counter = keys.costCenterCounter('swept', periodKey('monthly', new Date()));
    const detail = {
      applicationId: 'batch-job',
      environment: 'dev',
      modelId: 'amazon.nova-lite-v1:0',
      outputTokens: 30,
    };
    await runtime.store.reserve(
      counter,
      'died',
      { pico: 600n, tokens: 40 },
      { pico: 1000n },
      minutesAgo(10),
      detail,
    );

    const result = await sweepReservations({ store: runtime.store, now: () => new Date() });
    expect(result.records).toEqual([
      expect.objectContaining({
        requestId: 'died',
        tags: { costCenter: 'swept', applicationId: 'batch-job', environment: 'dev' },
        modelId: 'amazon.nova-lite-v1:0',
        costPico: 600n,
        usage: expect.objectContaining({ inputTokens: 10, outputTokens: 30 }),
        budgetUtilization: 0.6,
      }),
    ]);
    expect(result.alerts).toEqual([expect.objectContaining({ costCenter: 'swept', threshold: 0.5 })]);
    const usage = await runtime.store.queryUsage('swept', periodKey('monthly', new Date()));
    expect(usage).toEqual([
      expect.objectContaining({
        applicationId: 'batch-job',
        environment: 'dev',
        requests: 1,
        costPico: 600n,
      }),
    ]);
  });
});
