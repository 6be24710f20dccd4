import { describe, expect, it } from 'vitest';
import { contentTokenBound } from '../../lambdas/shared/rules/content.ts';
import { simulatedInputTokens } from '../../local/simulator-rules.ts';

describe('the Bedrock simulator', () => {
  const texts = ['Hello', 'é'.repeat(100), '日本語のテキスト', '😀😀😀 emoji', 'x'.repeat(10_000), ''];

  it.each(texts)('never counts more input tokens than the sentry reserves for %j', (text) => {
    const prompt = {
      system: [{ text: 'Be brief.' }],
      messages: [{ role: 'user' as const, content: [{ text: text || ' ' }] }],
    };

    const counted = simulatedInputTokens(prompt);

    expect(counted).toBeLessThanOrEqual(contentTokenBound(prompt, {}));
  });

  it('counts a quarter of the UTF-8 bytes of all the text, rounded up', () => {
    const counted = simulatedInputTokens({
      system: [{ text: 'abc' }],
      messages: [{ role: 'user', content: [{ text: 'é' }, { text: 'de' }] }],
    });

    expect(counted).toBe(Math.ceil((3 + 2 + 2) / 4));
  });
});
