import { timingSafeEqual } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { bearerMatches } from '../../local/gateway-http.ts';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const TOKEN = 's3cret-admin-token';

describe('the local admin token check', () => {
  it.each([
    ['the token', `Bearer ${TOKEN}`, true],
    ['a shorter token', 'Bearer guess', false],
    ['a longer token', `Bearer ${TOKEN}-and-more`, false],
    ['a token of the same length', `Bearer ${'x'.repeat(TOKEN.length)}`, false],
    ['no header', undefined, false],
  ])('answers %s with %s', (_name, header, expected) => {
    expect(bearerMatches(header, TOKEN)).toBe(expected);
  });

  it('compares fixed-size digests in constant time, whatever the length presented', () => {
    vi.mocked(timingSafeEqual).mockClear();
    bearerMatches('Bearer guess', TOKEN);
    bearerMatches(`Bearer ${'y'.repeat(500)}`, TOKEN);
    const calls = vi.mocked(timingSafeEqual).mock.calls;
    expect(calls).toHaveLength(2);
    for (const [a, b] of calls) expect([a.byteLength, b.byteLength]).toEqual([32, 32]);
  });
});
