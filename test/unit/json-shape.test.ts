import { describe, expect, it } from 'vitest';
import { jsonShapeProblem } from '../../lambdas/shared/rules/json-shape.ts';

describe('jsonShapeProblem', () => {
  it.each([
    ['{"a":1,"a":2}', 'a key appears twice in one object (at character 7)'],
    ['{"tags":{"costCenter":"a","costCenter":"b"}}', 'a key appears twice in one object (at character 26)'],
    ['{"a\\u0062":1,"ab":2}', 'a key appears twice in one object (at character 13)'],
    [`${'['.repeat(33)}${']'.repeat(33)}`, 'the body nests deeper than 32 levels'],
  ])('finds the problem in %s', (text, problem) => {
    expect(jsonShapeProblem(text)).toBe(problem);
  });

  it.each([
    '{"a":{"a":1},"b":[{"a":1},{"a":2}]}',
    '{"content":"a \\"key\\": \\"twice\\", \\"key\\": 1"}',
    '{"x":"{\\"a\\":1,\\"a\\":2}"}',
    `${'['.repeat(32)}${']'.repeat(32)}`,
    '{"model":',
    'not json',
  ])('lets %s through (JSON.parse judges the rest)', (text) => {
    expect(jsonShapeProblem(text)).toBeUndefined();
  });
});
