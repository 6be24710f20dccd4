import { describe, expect, it } from 'vitest';
import { type ConverseInput, invokeModel } from '../../lambdas/invoke-model/core.ts';
import { MODEL_DEADLINE_MS } from '../../lambdas/shared/rules/deadline.ts';
import type { WorkflowState } from '../../lambdas/shared/rules/types.ts';

const RECEIVED = 1_000_000;
const state = {
  requestId: 'req-1',
  receivedAt: RECEIVED,
  model: { alias: 'nova-lite', modelId: 'm', invokeModelId: 'm', maxOutputTokens: 10, topK: 'none' },
  prompt: { messages: [{ role: 'user', content: [{ text: 'Hi' }] }], parameters: { maxTokens: 10 } },
  tags: { applicationId: 'a', costCenter: 'c', environment: 'dev' },
} as unknown as WorkflowState;

function run(now: number) {
  const calls: ConverseInput[] = [];
  const invoker = {
    converse: async (input: ConverseInput) => {
      calls.push(input);
      return {
        content: [{ text: 'ok' }],
        stopReason: 'end_turn',
        usage: {
          inputTokens: 1,
          outputTokens: 1,
          totalTokens: 2,
          cacheReadInputTokens: 0,
          cacheWriteInputTokens: 0,
        },
      };
    },
  };
  return { calls, result: invokeModel(state, { invoker, now: () => now, clientTimeoutMs: 18_000 }) };
}

describe('invokeModel and the execution deadline', () => {
  it.each([
    [0, 18_000],
    [10_000, 14_000],
    [MODEL_DEADLINE_MS - 1_000, 1_000],
  ])('gives an attempt %i ms into the execution a timeout of %i ms', async (elapsed, timeoutMs) => {
    const { calls, result } = run(RECEIVED + elapsed);
    await result;
    expect(calls[0]?.timeoutMs).toBe(timeoutMs);
  });

  it('does not call the model with less than a second left', async () => {
    const { calls, result } = run(RECEIVED + MODEL_DEADLINE_MS - 999);
    await expect(result).rejects.toMatchObject({ name: 'DeadlineExceededError', code: 'MODEL_TIMEOUT' });
    expect(calls).toHaveLength(0);
  });
});
