import { type BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetDefinition } from '../../lambdas/shared/rules/budget.ts';
import { usdToPico } from '../../lambdas/shared/rules/money.ts';
import type { LocalStack } from '../../local/stack.ts';
import { counters } from '../helpers/local-runtime.ts';
import { localBedrock, startTestStack } from '../helpers/local-stack.ts';

/**
 * The budget flow's refusals and answers on every route: the seed format over HTTP, Converse
 * through the AWS SDK's own client, and Chat Completions through the `openai` package.
 */
let stack: LocalStack;
let bedrock: BedrockRuntimeClient;
let openai: OpenAI;

const ROUTES = ['invoke', 'converse', 'openai'] as const;
type RouteName = (typeof ROUTES)[number];

const budget = (costCenter: string, extra: Partial<BudgetDefinition> = {}): BudgetDefinition => ({
  costCenter,
  period: 'monthly',
  limitPico: usdToPico(10),
  alertThresholds: [],
  ...extra,
});

beforeAll(async () => {
  stack = await startTestStack();
  for (const route of ROUTES) {
    await stack.runtime.store.putBudget(budget(`rate-${route}`, { rateLimits: { requestsPerMinute: 1 } }));
    await stack.runtime.store.putBudget(
      budget(`deny-${route}`, { policies: [{ atUtilization: 0, action: 'deny', models: ['nova-lite'] }] }),
    );
    await stack.runtime.store.putBudget(
      budget(`down-${route}`, {
        policies: [{ atUtilization: 0, action: 'downgrade', from: 'nova-lite', to: 'nova-micro' }],
      }),
    );
  }
  bedrock = localBedrock(stack, { maxAttempts: 1 });
  openai = new OpenAI({ apiKey: 'local', baseURL: `${stack.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  bedrock?.destroy();
  await stack?.close();
});

const tagsOf = (costCenter: string) => ({ costCenter, applicationId: 'flow-app', environment: 'dev' });

/** The body of an answer, in the fields these tests read. */
type Answer = Record<string, unknown> & { error?: Record<string, unknown>; cost?: { usd: number } };

interface Outcome {
  status: number | undefined;
  /** The seed format's error code, Bedrock's exception name, or OpenAI's error type. */
  code: unknown;
  retryAfter: string | null;
  json: Answer;
}

/** One request on a route; the outcome as status, error code or name, and the body. */
async function call(route: RouteName, costCenter: string, text = 'Hi'): Promise<Outcome> {
  if (route === 'invoke') {
    const response = await fetch(`${stack.url}/v1/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'nova-lite',
        prompt: { messages: [{ role: 'user', content: text }], parameters: { max_tokens: 64 } },
        tags: tagsOf(costCenter),
      }),
    });
    const json = (await response.json()) as Answer;
    return {
      status: response.status,
      code: json.error?.code,
      retryAfter: response.headers.get('retry-after'),
      json,
    };
  }
  if (route === 'converse') {
    try {
      const answer = await bedrock.send(
        new ConverseCommand({
          modelId: 'nova-lite',
          messages: [{ role: 'user', content: [{ text }] }],
          inferenceConfig: { maxTokens: 64 },
          requestMetadata: tagsOf(costCenter),
        }),
      );
      return {
        status: 200,
        code: undefined,
        retryAfter: null,
        json: answer as unknown as Record<string, unknown>,
      };
    } catch (error) {
      const e = error as { name: string; $metadata: { httpStatusCode?: number } };
      return { status: e.$metadata.httpStatusCode, code: e.name, retryAfter: null, json: {} };
    }
  }
  try {
    const answer = await openai.chat.completions.create({
      model: 'nova-lite',
      max_tokens: 64,
      messages: [{ role: 'user', content: text }],
      metadata: tagsOf(costCenter),
    });
    return {
      status: 200,
      code: undefined,
      retryAfter: null,
      json: answer as unknown as Record<string, unknown>,
    };
  } catch (error) {
    const e = error as { status: number; type: string; headers?: Headers };
    return { status: e.status, code: e.type, retryAfter: e.headers?.get('retry-after') ?? null, json: {} };
  }
}

const RATE_LIMITED: Record<RouteName, [number, string]> = {
  invoke: [429, 'RATE_LIMITED'],
  converse: [429, 'ThrottlingException'],
  openai: [429, 'rate_limit_error'],
};
const POLICY_DENIED: Record<RouteName, [number, string]> = {
  invoke: [429, 'BUDGET_POLICY'],
  converse: [400, 'ServiceQuotaExceededException'],
  openai: [429, 'insufficient_quota'],
};

describe.each(ROUTES)('the budget flow on the %s route', (route) => {
  it('refuses the request past a requests-per-minute limit as rate limited, until the next minute', async () => {
    const first = await call(route, `rate-${route}`);
    const second = await call(route, `rate-${route}`);

    expect(first.status).toBe(200);
    expect([second.status, second.code]).toEqual(RATE_LIMITED[route]);
    if (route === 'invoke') {
      expect(second.json.error).toMatchObject({ limit: 'requestsPerMinute' });
      expect(Number(second.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(second.retryAfter)).toBeLessThanOrEqual(60);
    }
  });

  it('refuses a model a deny policy names with BUDGET_POLICY, charging nothing', async () => {
    const refused = await call(route, `deny-${route}`);

    expect([refused.status, refused.code]).toEqual(POLICY_DENIED[route]);
    if (route === 'invoke') {
      expect(refused.json.error).toMatchObject({ policy: { action: 'deny', models: ['nova-lite'] } });
    }
    const figures = await counters(stack.runtime, `deny-${route}`);
    expect(figures.allocatedPico).toBe(0n);
  });

  it('serves a downgraded model and charges exactly what the answer reports, at the served price', async () => {
    const answer = await call(route, `down-${route}`);

    expect(answer.status).toBe(200);
    const figures = await counters(stack.runtime, `down-${route}`);
    expect(figures.reservedPico).toBe(0n);
    if (route === 'invoke') {
      expect(answer.json).toMatchObject({
        model: { alias: 'nova-micro' },
        routing: { requested: 'nova-lite', served: 'nova-micro' },
      });
      expect(figures.spentPico).toBe(usdToPico(answer.json.cost?.usd ?? -1));
    }
    if (route === 'openai') {
      expect(answer.json).toMatchObject({
        model: 'nova-micro',
        cost_sentry: { routing: { requested: 'nova-lite', served: 'nova-micro' } },
      });
    }
  });
});

describe('held versus spent over HTTP', () => {
  const HELD: Record<RouteName, [number, string]> = {
    invoke: [429, 'BUDGET_EXCEEDED'],
    converse: [429, 'ThrottlingException'],
    openai: [429, 'rate_limit_error'],
  };

  it.each(ROUTES)(
    'answers held on the %s route while a request in flight holds the money, then serves the retry',
    async (route) => {
      // The budget holds one worst case; the first request holds it for 2.5 s (longer than the
      // server-side wait) and then uses almost none of it.
      const costCenter = `held-${route}`;
      await stack.runtime.store.putBudget(budget(costCenter, { limitPico: 25_000_000n }));
      const slow = call('invoke', costCenter, 'Hi [[sim:latency_ms=2500;output_tokens=1]]');
      await new Promise((resolve) => setTimeout(resolve, 300));

      const held = await call(route, costCenter);
      await slow;
      const retried = await call(route, costCenter);

      expect([held.status, held.code]).toEqual(HELD[route]);
      if (route === 'invoke') {
        expect(held.json.error).toMatchObject({ reason: 'held', retryAfterSeconds: 1 });
        expect(held.retryAfter).toBe('1');
      }
      expect(retried.status).toBe(200);
    },
  );

  it('answers spent with Retry-After until the reset when the money is spent', async () => {
    await stack.runtime.store.putBudget(budget('spent-flow', { limitPico: 1n }));

    const spent = await call('invoke', 'spent-flow');

    expect(spent.json.error).toMatchObject({ code: 'BUDGET_EXCEEDED', reason: 'spent' });
    expect(Number(spent.retryAfter)).toBeGreaterThan(5);
  });
});

describe('fitting over HTTP', () => {
  it('runs a request whose worst case does not fit with a clamped max_tokens, and says so', async () => {
    // nova-lite: 64 output tokens cost 15,360,000 pico at the worst case; 12,000,000 leaves room for fewer.
    await stack.runtime.store.putBudget(
      budget('clamp-flow', { limitPico: 12_000_000n, fit: 'clamp', minOutputTokens: 8 }),
    );

    const answer = await call('invoke', 'clamp-flow', 'Hi [[sim:output_tokens=64]]');

    expect(answer.status).toBe(200);
    expect(answer.json.warnings).toEqual([expect.stringMatching(/^max_tokens was lowered from 64 to \d+/)]);
    const clampedTo = Number(/to (\d+)/.exec(String((answer.json.warnings as string[])[0]))?.[1]);
    expect((answer.json.usage as { outputTokens: number }).outputTokens).toBe(clampedTo);
    const figures = await counters(stack.runtime, 'clamp-flow');
    expect(figures.spentPico).toBeLessThanOrEqual(12_000_000n);
  });
});
