import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SYSTEM_PROMPT_MIN_TOKENS,
  sumSystemPromptUses,
  systemPromptOf,
} from '../../lambdas/shared/rules/system-prompts.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('systemPromptOf', () => {
  it('hashes the text blocks joined by newlines and sizes them at four characters a token', () => {
    const a = 'a'.repeat(4096);
    const b = 'b'.repeat(10);
    expect(systemPromptOf([{ text: a }, { text: b }])).toEqual({
      systemHash: sha(`${a}\n${b}`),
      systemTokens: Math.ceil((4096 + 1 + 10) / 4),
    });
  });

  it.each([
    ['no system prompt', undefined],
    ['one just under the minimum', [{ text: 'x'.repeat((SYSTEM_PROMPT_MIN_TOKENS - 1) * 4) }]],
    ['one already cached', [{ text: 'x'.repeat(8192) }, { cachePoint: { type: 'default' as const } }]],
  ])('records nothing for %s', (_name, system) => {
    expect(systemPromptOf(system)).toBeUndefined();
  });

  it('records one exactly at the minimum', () => {
    expect(systemPromptOf([{ text: 'x'.repeat(SYSTEM_PROMPT_MIN_TOKENS * 4) }])?.systemTokens).toBe(
      SYSTEM_PROMPT_MIN_TOKENS,
    );
  });
});

describe('sumSystemPromptUses', () => {
  it('sums one prompt over its days, and keeps applications, models and prompts apart', () => {
    const use = {
      costCenter: 'support',
      applicationId: 'faq',
      modelId: 'm',
      systemHash: 'h1',
      systemTokens: 1200,
      requests: 4,
    };
    expect(
      sumSystemPromptUses([
        use,
        { ...use, requests: 6 },
        { ...use, applicationId: 'kb' },
        { ...use, modelId: 'n' },
        { ...use, systemHash: 'h2' },
      ]),
    ).toEqual([
      { ...use, requests: 10 },
      { ...use, applicationId: 'kb' },
      { ...use, modelId: 'n' },
      { ...use, systemHash: 'h2' },
    ]);
  });
});
