import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../lambdas/shared/rules/errors.ts';
import { requestTemplate, responseTemplate } from '../../lib/api/templates.ts';
import { escapeJavaScript, renderTemplate } from '../../local/vtl.ts';

const REQUEST = { requestId: 'req-1', requestTimeEpoch: 1_795_400_000_000 };
const renderRequest = (body: string, maxBodyBytes = 204_800) =>
  renderTemplate(requestTemplate('arn:aws:states:us-east-1:111122223333:stateMachine:sm', maxBodyBytes), {
    ...REQUEST,
    body,
  });
const renderResponse = (execution: Record<string, unknown>) =>
  renderTemplate(responseTemplate(), { ...REQUEST, body: JSON.stringify(execution) });

const NO_CALLER = { principal: '', keyId: '', costCenters: '', applicationIds: '', environments: '' };

describe('the request template', () => {
  it('passes who called: the SigV4 principal, or the API key and its binding', () => {
    const signed = renderTemplate(requestTemplate('arn:sm', 1000), {
      ...REQUEST,
      body: '{}',
      userArn: 'arn:aws:sts::111122223333:assumed-role/app/session',
    });
    expect(JSON.parse(JSON.parse(signed.body).input).caller).toEqual({
      ...NO_CALLER,
      principal: 'arn:aws:sts::111122223333:assumed-role/app/session',
    });
    const keyed = renderTemplate(requestTemplate('arn:sm', 1000), {
      ...REQUEST,
      body: '{}',
      authorizer: { keyId: 'k1', costCenters: 'support', applicationIds: '*', environments: 'dev,test' },
    });
    expect(JSON.parse(JSON.parse(keyed.body).input).caller).toEqual({
      principal: '',
      keyId: 'k1',
      costCenters: 'support',
      applicationIds: '*',
      environments: 'dev,test',
    });
  });

  it.each([
    ['plain JSON', '{"model":"nova-lite"}'],
    ['quotes, slashes and backslashes', `{"a":"it's \\"quoted\\" / back\\\\slash"}`],
    ['the @@ that CDK templates rewrite', '{"prompt":"@@ and @@@ stay as they are"}'],
    ['JSON-looking text inside a string', '{"content":"{\\"injected\\": true, \\"model\\": \\"x\\"}"}'],
    ['Unicode and emoji', '{"content":"é 日本 😀"}'],
    ['control characters', '{"content":"tab\\tnew\\nline\\u0001"}'],
    ['malformed JSON', '{"model":'],
    ['an empty body', ''],
  ])('embeds %s verbatim in the execution input', (_name, body) => {
    const rendered = renderRequest(body);
    const start = JSON.parse(rendered.body);
    expect(start).toMatchObject({
      stateMachineArn: 'arn:aws:states:us-east-1:111122223333:stateMachine:sm',
      name: 'req-1',
    });
    expect(JSON.parse(start.input)).toEqual({
      requestId: 'req-1',
      receivedAt: REQUEST.requestTimeEpoch,
      caller: NO_CALLER,
      body,
    });
  });

  it.each([
    ['no-cache', true],
    ['No-Cache', true],
    ['max-age=0, no-store', true],
    ['max-age=60', false],
    [undefined, false],
  ])('passes noCache for Cache-Control: %s only when it asks to skip the cache', (header, noCache) => {
    const rendered = renderTemplate(
      requestTemplate('arn:aws:states:us-east-1:111122223333:stateMachine:sm', 204_800),
      {
        ...REQUEST,
        body: '{}',
        headers: header === undefined ? {} : { 'Cache-Control': header },
      },
    );
    expect(JSON.parse(JSON.parse(rendered.body).input).noCache).toBe(noCache ? true : undefined);
  });

  it('does not embed a body over the limit', () => {
    const body = JSON.stringify({ content: 'x'.repeat(200) });
    const input = JSON.parse(JSON.parse(renderRequest(body, 100).body).input);
    expect(input).toEqual({
      requestId: 'req-1',
      receivedAt: REQUEST.requestTimeEpoch,
      caller: NO_CALLER,
      bodyTooLarge: true,
    });
    expect(JSON.parse(JSON.parse(renderRequest(body, body.length).body).input).body).toBe(body);
  });

  it('does not embed a body whose escaped form would not fit the Step Functions payload', () => {
    const body = JSON.stringify({ content: 'é'.repeat(50_000) });
    expect(body.length).toBeLessThan(204_800);
    const input = JSON.parse(JSON.parse(renderRequest(body).body).input);
    expect(input.bodyTooLarge).toBe(true);
  });

  it('escapes as Java escapeJavaScript does', () => {
    expect(escapeJavaScript(`'"\\/\n\u0001é😀`)).toBe(`\\'\\"\\\\\\/\\n\\u0001\\u00E9\\uD83D\\uDE00`);
  });
});

describe('the response template', () => {
  it('returns the execution output as the body of a 200', () => {
    const output = JSON.stringify({ requestId: 'req-1', output: { role: 'assistant', content: '@@ "hi"' } });
    const rendered = renderResponse({ status: 'SUCCEEDED', output });
    expect(rendered.status).toBeUndefined();
    expect(JSON.parse(rendered.body)).toEqual(JSON.parse(output));
  });

  const codes = [...new Map(Object.values(ERRORS).map((e) => [e.code, e.status])).entries()].filter(
    ([code]) => code !== 'INTERNAL_ERROR',
  );
  it.each(codes)('maps %s to HTTP %i with the Fail cause as the body', (code, status) => {
    const cause = JSON.stringify({ error: { code, message: 'm', requestId: 'req-1', retryAfterSeconds: 7 } });
    const rendered = renderResponse({ status: 'FAILED', error: code, cause });
    expect(rendered.status).toBe(status);
    expect(JSON.parse(rendered.body)).toEqual(JSON.parse(cause));
    if (status === 429 || status === 503) expect(rendered.headers['Retry-After']).toBe('7');
    else expect(rendered.headers['Retry-After']).toBeUndefined();
  });

  it('answers a generic 500 for an unknown error and never shows its cause', () => {
    const rendered = renderResponse({
      status: 'FAILED',
      error: 'States.Runtime',
      cause: 'An error occurred while executing arn:aws:lambda:us-east-1:111122223333:function:secret',
    });
    expect(rendered.status).toBe(500);
    expect(JSON.parse(rendered.body)).toEqual({
      error: { code: 'INTERNAL_ERROR', message: 'Internal error.', requestId: 'req-1' },
    });
  });

  it('answers INTERNAL_ERROR with the generic body even when the cause claims otherwise', () => {
    const rendered = renderResponse({
      status: 'FAILED',
      error: 'INTERNAL_ERROR',
      cause: '{"error":{"message":"stack"}}',
    });
    expect(rendered.status).toBe(500);
    expect(rendered.body).not.toContain('stack');
  });

  it('answers 504 for a TIMED_OUT execution, never 200', () => {
    const rendered = renderResponse({ status: 'TIMED_OUT' });
    expect(rendered.status).toBe(504);
    expect(JSON.parse(rendered.body).error.code).toBe('MODEL_TIMEOUT');
  });
});

describe('Velocity compatibility', () => {
  it('refuses a template with an escaped quote inside a string literal', () => {
    expect(() => renderTemplate('#set($x = "{\\"a\\":1}")$x', { ...REQUEST, body: '' })).toThrow(
      /escaped quote/,
    );
  });

  it('holds for the deployed templates', () => {
    expect(() => renderRequest('{}')).not.toThrow();
    expect(() => renderResponse({ status: 'SUCCEEDED', output: '{}' })).not.toThrow();
  });
});
