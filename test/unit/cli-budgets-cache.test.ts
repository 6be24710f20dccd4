import { describe, expect, it } from 'vitest';
import { budgets } from '../../cli/commands/budgets.ts';
import type { CommandContext } from '../../cli/commands/command.ts';

/** `budgets set` and `budgets get` against a fake admin API that answers what it was sent. */
function run(args: string[], values: CommandContext['values'], answer: Record<string, unknown> = {}) {
  const sent: unknown[] = [];
  const api = (async (_method: string, _path: string, _query?: unknown, body?: unknown) => {
    sent.push(body);
    return { costCenter: 'support', period: 'monthly', ...answer, ...(body as object) };
  }) as CommandContext['api'];
  return budgets({ api, format: 'table', values, args }).then((out) => ({ out, sent }));
}

describe('cost-sentry budgets and the response cache', () => {
  it('sends --cache-ttl as the budget cache policy', async () => {
    const { sent } = await run(['set', 'support'], {
      period: 'monthly',
      'limit-usd': '10',
      'cache-ttl': '3600',
    });

    expect(sent[0]).toMatchObject({ cache: { ttlSeconds: 3600 } });
  });

  it('sends anyTemperature with --cache-any-temperature', async () => {
    const { sent } = await run(['set', 'support'], {
      period: 'monthly',
      'limit-usd': '10',
      'cache-ttl': '60',
      'cache-any-temperature': true,
    });

    expect(sent[0]).toMatchObject({ cache: { ttlSeconds: 60, anyTemperature: true } });
  });

  it('shows the cache policy in budgets get', async () => {
    const { out } = await run(['get', 'support'], {}, { cache: { ttlSeconds: 3600 } });

    expect(out).toMatch(/CACHE/);
    expect(out).toMatch(/3600s/);
  });
});
