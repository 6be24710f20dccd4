import { describe, expect, it } from 'vitest';
import { inputTokenBound } from '../../lambdas/shared/rules/pricing.ts';
import { simulatedInputTokens } from '../../local/bedrock-simulator.ts';

describe('the Bedrock simulator', () => {
  const texts = ['Hello', 'é'.repeat(100), '日本語のテキスト', '😀😀😀 emoji', 'x'.repeat(10_000), ''];

  it.each(texts)('never counts more input tokens than the sentry reserves for %j', (text) => {
    const prompt = { system: 'Be brief.', messages: [{ content: text || ' ' }] };

    const counted = simulatedInputTokens({
      system: [{ text: prompt.system }],
      messages: prompt.messages.map((m) => ({ role: 'user', content: [{ text: m.content }] })),
    });

    expect(counted).toBeLessThanOrEqual(inputTokenBound(prompt));
  });

  it('counts a quarter of the UTF-8 bytes of all the text, rounded up', () => {
    const counted = simulatedInputTokens({
      system: [{ text: 'abc' }],
      messages: [{ role: 'user', content: [{ text: 'é' }, { text: 'de' }] }],
    });

    expect(counted).toBe(Math.ceil((3 + 2 + 2) / 4));
  });
});
