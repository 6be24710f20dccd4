import { describe, expect, it } from 'vitest';
import { type SentryError, statusOf } from '../../lambdas/shared/rules/errors.ts';
import { validateRequest } from '../../lambdas/validate-request/core.ts';
import { exampleCatalog, invokeBody } from '../helpers/fixtures.ts';

const catalog = exampleCatalog();
const RECEIVED = Date.parse('2026-11-23T10:00:00Z');
/** The local stack without authentication: anonymous callers may use any tags. */
const OPEN = { openCallers: true };

const run = (body: unknown) =>
  validateRequest(
    {
      requestId: 'req-1',
      receivedAt: RECEIVED,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    },
    catalog,
    OPEN,
  );

function failure(body: unknown): SentryError {
  try {
    run(body);
  } catch (error) {
    return error as SentryError;
  }
  throw new Error('expected the request to be refused');
}

describe('validateRequest accepts', () => {
  it('the seed 001 request and defaults max_tokens to the model cap', () => {
    const request = run(invokeBody());
    expect(request.model).toEqual({
      alias: 'nova-lite',
      modelId: 'amazon.nova-lite-v1:0',
      invokeModelId: 'amazon.nova-lite-v1:0',
      maxOutputTokens: 4096,
      topK: 'nova',
      imageTokenBound: 3000,
    });
    expect(request.prompt.parameters.maxTokens).toBe(4096);
    expect(request.tags).toEqual({
      applicationId: 'docs-helper',
      costCenter: 'support',
      environment: 'production',
    });
  });

  it('a raw model ID the catalog lists', () => {
    expect(run(invokeBody({ model: 'amazon.nova-pro-v1:0' })).model.alias).toBe('nova-pro');
  });

  it('a Legacy model, carrying the warning of its end of life', () => {
    expect(run(invokeBody({ model: 'claude-sonnet-4-5' })).model.warning).toMatch(
      /end of life on 2027-04-08/,
    );
  });

  it('prices the worst case from the bound and max_tokens', () => {
    const request = run(invokeBody({ content: 'Hello', maxTokens: 100 }));
    // 32 + 5 + 8 = 45 input tokens at 60,000 pico each; 100 output tokens at 240,000 pico each.
    expect(request.estimate).toEqual({
      inputTokens: 45,
      outputTokens: 100,
      tokens: 145,
      costPico: String(45n * 60_000n + 100n * 240_000n),
      priceVersion: '2026-12-01',
    });
  });
});

describe('validateRequest refuses', () => {
  it.each([
    ['malformed JSON', '{"model":', 'INVALID_REQUEST', 'The request body is not valid JSON.'],
    ['an empty body', '', 'INVALID_REQUEST', 'The request body is empty.'],
    ['null', 'null', 'INVALID_REQUEST', 'The request does not match the schema.'],
    ['an unknown model', invokeBody({ model: 'gpt-4' }), 'UNKNOWN_MODEL', undefined],
    ['a look-alike model name', invokeBody({ model: 'nova-lite ' }), 'UNKNOWN_MODEL', undefined],
    [
      'a retired alias',
      invokeBody({ model: 'claude-3-5-sonnet' }),
      'MODEL_RETIRED',
      "The model 'claude-3-5-sonnet' was retired on Amazon Bedrock on 2026-03-01; use 'claude-sonnet' instead.",
    ],
    [
      'a retired model ID',
      invokeBody({ model: 'anthropic.claude-v2:0' }),
      'MODEL_RETIRED',
      "The model 'claude-2' was retired on Amazon Bedrock; use 'claude-haiku' instead.",
    ],
  ])('%s', (_name, body, code, message) => {
    const error = failure(body);
    expect(error.code).toBe(code);
    if (message) expect(error.fields.message).toBe(message);
    if (code === 'MODEL_RETIRED')
      expect(JSON.stringify(error.fields.details)).toMatch(/replacement: claude-/);
  });

  it.each([
    ['unknown top-level fields', { ...invokeBody(), extra: 1 }, ''],
    [
      'a missing tag',
      { ...invokeBody(), tags: { costCenter: 'support', environment: 'dev' } },
      'tags.applicationId',
    ],
    ['a tag with a space', invokeBody({ costCenter: 'sup port' }), 'tags.costCenter'],
    ['a tag over 64 characters', invokeBody({ applicationId: 'a'.repeat(65) }), 'tags.applicationId'],
    ['an environment not configured', invokeBody({ environment: 'qa' }), 'tags.environment'],
    ['max_tokens zero', invokeBody({ maxTokens: 0 }), 'prompt.parameters.max_tokens'],
    ['max_tokens negative', invokeBody({ maxTokens: -5 }), 'prompt.parameters.max_tokens'],
    ['max_tokens fractional', invokeBody({ maxTokens: 1.5 }), 'prompt.parameters.max_tokens'],
    ['blank content', invokeBody({ content: '   ' }), 'prompt.messages[0].content'],
  ])('%s, naming the path', (_name, body, path) => {
    const error = failure(body);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.fields.details?.map((d) => d.path)).toContain(path);
  });

  it('max_tokens above the cap, naming the cap', () => {
    const error = failure(invokeBody({ maxTokens: 5000 }));
    expect(error.fields.details).toEqual([
      { path: 'prompt.parameters.max_tokens', message: 'must be at most 4096, the cap of nova-lite' },
    ]);
  });

  it('roles out of order', () => {
    const body = invokeBody();
    (body.prompt as { messages: unknown[] }).messages = [
      { role: 'assistant', content: 'Hi' },
      { role: 'user', content: 'Hello' },
    ];
    const error = failure(body);
    expect(error.fields.details?.map((d) => d.path)).toEqual([
      'prompt.messages[0].role',
      'prompt.messages[1].role',
    ]);
  });

  it('top_k for a model that does not take it', () => {
    const withTopK = (alias: string) => {
      const body = invokeBody({ model: alias });
      (body.prompt as Record<string, unknown>).parameters = { top_k: 5 };
      return body;
    };
    const catalogWithoutTopK = {
      ...catalog,
      models: { plain: { ...catalog.models['nova-lite'], topK: 'none' as const } },
    };
    expect(() =>
      validateRequest(
        { requestId: 'r', receivedAt: RECEIVED, body: JSON.stringify(withTopK('plain')) },
        catalogWithoutTopK as typeof catalog,
        OPEN,
      ),
    ).toThrow(/schema/);
    expect(run(withTopK('claude-haiku')).prompt.parameters.topK).toBe(5);
  });

  it('a body the gateway flagged as too large', () => {
    const error = (() => {
      try {
        validateRequest({ requestId: 'r', receivedAt: RECEIVED, bodyTooLarge: true }, catalog);
      } catch (e) {
        return e as SentryError;
      }
    })();
    expect(error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(statusOf(error?.code ?? '')).toBe(413);
  });

  it('without echoing the prompt in the error', () => {
    const secret = 'my-secret-prompt-text';
    const body = invokeBody({ content: secret });
    (body.prompt as Record<string, unknown>).parameters = { max_tokens: 'many' };
    expect(JSON.stringify(failure(body).fields)).not.toContain(secret);
  });
});

/** The error a client would see, as text. */
const errorText = (error: SentryError) => JSON.stringify(error.fields);

describe('validateRequest never echoes client text in details', () => {
  it('an unknown key named after a card number', () => {
    const error = failure({ ...invokeBody(), '4111111111111111': 1 });
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.fields.details?.map((d) => d.path)).toEqual(['']);
    expect(errorText(error)).not.toContain('4111111111111111');
  });

  it('a duplicated key', () => {
    const body = JSON.stringify(invokeBody()).replace('{', '{"4111111111111111":1,"4111111111111111":2,');
    const error = failure(body);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(errorText(error)).not.toContain('4111111111111111');
  });

  it('an enum value or a wrong type', () => {
    const body = invokeBody();
    (body.prompt as { messages: unknown[] }).messages = [{ role: 'secret-role-value', content: 42 }];
    expect(errorText(failure(body))).not.toContain('secret-role-value');
  });
});

describe('validateRequest keeps error bodies small', () => {
  it('14,000 unknown keys give one short detail, not a list of the keys', () => {
    const extra = Object.fromEntries(Array.from({ length: 14_000 }, (_, i) => [`k${i}`, 1]));
    const error = failure({ ...invokeBody(), ...extra });
    expect(errorText(error).length).toBeLessThan(8 * 1024);
    expect(error.fields.details?.[0]?.message).toMatch(/14000 unknown fields/);
  });

  it('200 problems give at most 20 details, and the message says how many there were', () => {
    const body = invokeBody();
    (body.prompt as { messages: unknown[] }).messages = Array.from({ length: 100 }, () => ({
      role: 'user',
      content: 1,
      x: 1,
    }));
    const error = failure(body);
    expect(error.fields.details).toHaveLength(20);
    expect(error.fields.message).toMatch(/20 of \d+ problems/);
    expect(errorText(error).length).toBeLessThan(8 * 1024);
  });
});

describe('validateRequest refuses text that is not well-formed Unicode', () => {
  const raw = (text: string) => JSON.stringify(invokeBody()).replace('"Hello"', `"${text}"`);

  it.each([
    ['a lone high surrogate escape in content', raw('Hi \\ud800 there'), 'prompt.messages[0].content'],
    ['a lone low surrogate escape in content', raw('\\udc00'), 'prompt.messages[0].content'],
    ['surrogates in the wrong order', raw('\\udc00\\ud800'), 'prompt.messages[0].content'],
    ['a raw lone surrogate', raw('Hi \ud800'), 'prompt.messages[0].content'],
    [
      'a lone surrogate in the system prompt',
      JSON.stringify(invokeBody({ system: 'x' })).replace('"system":"x"', '"system":"\\ud83d"'),
      'prompt.system',
    ],
    [
      'a lone surrogate in a stop sequence',
      JSON.stringify({
        ...invokeBody(),
        prompt: { ...(invokeBody().prompt as object), parameters: { stop_sequences: ['STOP'] } },
      }).replace('"STOP"', '"\\ud800"'),
      'prompt.parameters.stop_sequences[0]',
    ],
  ])('%s', (_name, body, path) => {
    const error = failure(body);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.fields.details).toEqual([{ path, message: 'must be well-formed Unicode text' }]);
  });

  it('but accepts a surrogate pair, escaped or not', () => {
    expect(run(raw('\\ud83d\\ude00 \u{1F600}')).prompt.messages[0]?.content[0]).toEqual({
      text: '\u{1F600} \u{1F600}',
    });
  });
});

describe('validateRequest and the caller', () => {
  it('refuses an anonymous caller outside the open local stack, before anything else', () => {
    expect(() =>
      validateRequest({ requestId: 'r', receivedAt: RECEIVED, body: JSON.stringify(invokeBody()) }, catalog),
    ).toThrow(expect.objectContaining({ name: 'ForbiddenError', code: 'FORBIDDEN' }));
  });

  it('records who called for the audit log', () => {
    const keyed = validateRequest(
      {
        requestId: 'r',
        receivedAt: RECEIVED,
        body: JSON.stringify(invokeBody()),
        caller: { keyId: 'abc', costCenters: 'support', applicationIds: '*', environments: '*' },
      },
      catalog,
    );
    expect(keyed.callerId).toBe('key:abc');
  });
});

describe('validateRequest and application inference profiles', () => {
  it('calls a cost center own profile for the model, and the model ID elsewhere', () => {
    const profiles = {
      support: { 'nova-lite': 'arn:aws:bedrock:eu-west-1:1:application-inference-profile/abc' },
    };
    const body = (costCenter: string) => JSON.stringify(invokeBody({ costCenter }));
    const support = validateRequest(
      { requestId: 'r', receivedAt: RECEIVED, body: body('support') },
      catalog,
      { ...OPEN, profiles },
    );
    const sales = validateRequest({ requestId: 'r', receivedAt: RECEIVED, body: body('sales') }, catalog, {
      ...OPEN,
      profiles,
    });
    expect(support.model).toMatchObject({
      modelId: 'amazon.nova-lite-v1:0',
      invokeModelId: profiles.support['nova-lite'],
    });
    expect(sales.model.invokeModelId).toBe('amazon.nova-lite-v1:0');
  });
});
