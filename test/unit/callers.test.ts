import { describe, expect, it } from 'vitest';
import { bearerToken, newApiKey, parseApiKey, secretMatches } from '../../lambdas/shared/rules/api-keys.ts';
import { authorizeTags, type Caller, roleOfSession } from '../../lambdas/shared/rules/callers.ts';

const tags = { applicationId: 'docs-helper', costCenter: 'support', environment: 'production' };
const callers: Caller[] = [
  {
    principal: 'arn:aws:iam::111122223333:role/docs-helper',
    costCenters: ['support'],
    environments: ['production'],
  },
  {
    principal: 'arn:aws:iam::111122223333:user/finance-bot',
    costCenters: ['sales', 'support'],
    applicationIds: ['ledger'],
  },
];
const allowed = (...args: Parameters<typeof authorizeTags>) => {
  try {
    authorizeTags(...args);
    return 'allowed';
  } catch (error) {
    return (error as Error & { fields: { message: string } }).fields.message;
  }
};

describe('authorizeTags', () => {
  it.each([
    ['a bound role', { principal: 'arn:aws:iam::111122223333:role/docs-helper' }, tags, 'allowed'],
    [
      'a session of a bound role',
      { principal: 'arn:aws:sts::111122223333:assumed-role/docs-helper/i-0abc' },
      tags,
      'allowed',
    ],
    [
      'a bound role, another cost center',
      { principal: 'arn:aws:iam::111122223333:role/docs-helper' },
      { ...tags, costCenter: 'sales' },
      "The caller may not charge cost center 'sales'.",
    ],
    [
      'a bound role, another environment',
      { principal: 'arn:aws:iam::111122223333:role/docs-helper' },
      { ...tags, environment: 'dev' },
      "The caller may not use environment 'dev'.",
    ],
    [
      'a bound user, another application',
      { principal: 'arn:aws:iam::111122223333:user/finance-bot' },
      tags,
      "The caller may not charge application 'docs-helper'.",
    ],
    [
      'a role of the same name in another account',
      { principal: 'arn:aws:sts::999999999999:assumed-role/docs-helper/x' },
      tags,
      'The caller is not bound to any cost center.',
    ],
    [
      'an unknown principal',
      { principal: 'arn:aws:iam::111122223333:role/other' },
      tags,
      'The caller is not bound to any cost center.',
    ],
    [
      'an API key bound to the cost center',
      { keyId: 'k', costCenters: 'sales,support', applicationIds: '*', environments: '*' },
      tags,
      'allowed',
    ],
    [
      'an API key bound elsewhere',
      { keyId: 'k', costCenters: 'sales', applicationIds: '*', environments: '*' },
      tags,
      "The caller may not charge cost center 'support'.",
    ],
    [
      'an API key limited to other environments',
      { keyId: 'k', costCenters: 'support', applicationIds: '*', environments: 'dev,test' },
      tags,
      "The caller may not use environment 'production'.",
    ],
    ['nobody, outside the open local stack', {}, tags, 'The caller is not bound to any cost center.'],
    [
      'an empty caller from the template',
      { principal: '', keyId: '', costCenters: '' },
      tags,
      'The caller is not bound to any cost center.',
    ],
  ])('%s: %s', (_name, identity, requestTags, expected) => {
    expect(allowed(identity, requestTags, callers, false)).toBe(expected);
  });

  it('lets an anonymous caller use any tags only in the open local stack', () => {
    expect(allowed({}, { ...tags, costCenter: 'anything' }, [], true)).toBe('allowed');
    expect(allowed({ keyId: 'k', costCenters: 'sales' }, tags, [], true)).toBe(
      "The caller may not charge cost center 'support'.",
    );
  });

  describe('matches a role by account and role name, since a session ARN drops the path', () => {
    const pathed: Caller[] = [
      { principal: 'arn:aws:iam::123456789012:role/team/docs-helper', costCenters: ['support'] },
      { principal: 'arn:aws:iam::123456789012:role/plain-role', costCenters: ['support'] },
    ];
    it.each([
      [
        'a session of a role with a path',
        'arn:aws:sts::123456789012:assumed-role/docs-helper/session',
        'allowed',
      ],
      ['a role with a path, called as itself', 'arn:aws:iam::123456789012:role/team/docs-helper', 'allowed'],
      [
        'a session of a role without a path',
        'arn:aws:sts::123456789012:assumed-role/plain-role/s-1',
        'allowed',
      ],
      [
        "another account's role of the same name",
        'arn:aws:sts::999999999999:assumed-role/docs-helper/session',
        'The caller is not bound to any cost center.',
      ],
      [
        'the same role name under another path, called as itself',
        'arn:aws:iam::123456789012:role/other/docs-helper',
        'The caller is not bound to any cost center.',
      ],
      [
        'another partition',
        'arn:aws-cn:sts::123456789012:assumed-role/docs-helper/session',
        'The caller is not bound to any cost center.',
      ],
      [
        'a user named like the role',
        'arn:aws:iam::123456789012:user/docs-helper',
        'The caller is not bound to any cost center.',
      ],
    ])('%s', (_name, principal, expected) => {
      expect(allowed({ principal }, tags, pathed, false)).toBe(expected);
    });
  });

  it('reads the role of an assumed-role session', () => {
    expect(roleOfSession('arn:aws:sts::111122223333:assumed-role/app/s')).toBe(
      'arn:aws:iam::111122223333:role/app',
    );
    expect(roleOfSession('arn:aws:iam::111122223333:user/u')).toBeUndefined();
  });
});

describe('API keys', () => {
  it('are shown as cs_<keyId>_<secret> and stored only as a hash of the secret', () => {
    const { keyId, apiKey, secretHash } = newApiKey();
    expect(apiKey).toMatch(/^cs_[a-z0-9]{16}_[A-Za-z0-9_-]{43}$/);
    expect(secretHash).not.toContain(parseApiKey(apiKey)?.secret ?? apiKey);
    const parsed = parseApiKey(apiKey);
    expect(parsed?.keyId).toBe(keyId);
    expect(secretMatches(parsed?.secret ?? '', secretHash)).toBe(true);
    expect(secretMatches(`${parsed?.secret.slice(0, -1)}x`, secretHash)).toBe(false);
  });

  it('reject anything that is not one of ours', () => {
    expect(parseApiKey('cs_short_x')).toBeUndefined();
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
  });
});
