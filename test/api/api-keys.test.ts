import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConverseCommand, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiKey } from '../../lambdas/shared/rules/api-keys.ts';
import type { LocalStack } from '../../local/stack.ts';
import { invokeBody } from '../helpers/fixtures.ts';
import { counters } from '../helpers/local-runtime.ts';
import { localBedrock, logLines, post, startTestStack } from '../helpers/local-stack.ts';

/** COST_SENTRY_AUTH=apikey: the invoke route needs a key, checked by the same authorizer as on AWS. */
const CLI = fileURLToPath(new URL('../../cli/cost-sentry.ts', import.meta.url));
let stack: LocalStack;
let apiKey: string;
let keyId: string;

beforeAll(async () => {
  stack = await startTestStack({ auth: 'apikey' });
  const created = await post(
    stack,
    {
      costCenters: ['support'],
      applicationIds: ['docs-helper'],
      environments: ['production'],
      description: 'docs bot',
    },
    { path: '/v1/keys' },
  );
  expect(created.status).toBe(201);
  ({ apiKey, keyId } = created.json as { apiKey: string; keyId: string });
});
afterAll(() => stack?.close());

const call = (body: unknown, key?: string) =>
  post(stack, body, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } });

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args, '--endpoint', stack.url], (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('API-key authentication of POST /v1/invoke', () => {
  it.each([
    ['no key', undefined],
    ['a malformed key', 'not-a-key'],
    ['an unknown key', 'cs_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
  ])('answers 401 UNAUTHORIZED for %s, charging nothing', async (_name, key) => {
    const { status, json } = await call(invokeBody(), key);
    expect([status, json.error.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('checks the key before the body, as API Gateway does', async () => {
    const { status, json } = await post(stack, 'not json', { headers: { 'content-type': 'text/plain' } });
    expect([status, json.error.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('answers 401 for the right key ID with a wrong secret', async () => {
    const forged = `${apiKey.slice(0, -1)}${apiKey.endsWith('A') ? 'B' : 'A'}`;
    expect((await call(invokeBody(), forged)).status).toBe(401);
  });

  it('lets the key charge the tags it is bound to, and records the key in the audit log', async () => {
    const { status, json } = await call(invokeBody(), apiKey);
    expect(status).toBe(200);
    const audit = logLines(stack).find((l) => l.audit?.requestId === json.requestId);
    expect(audit?.audit.callerId).toBe(`key:${keyId}`);
  });

  it.each([
    ['another cost center', { costCenter: 'sales' }, "The caller may not charge cost center 'sales'."],
    [
      'another application',
      { applicationId: 'other-app' },
      "The caller may not charge application 'other-app'.",
    ],
    ['another environment', { environment: 'dev' }, "The caller may not use environment 'dev'."],
  ])('refuses %s with 403 FORBIDDEN and charges nothing', async (_name, tags, message) => {
    const before = await counters(stack.runtime, 'sales');
    const calls = stack.runtime.simulator?.stats.calls;
    const { status, json } = await call(invokeBody(tags), apiKey);
    expect([status, json.error.code, json.error.message]).toEqual([403, 'FORBIDDEN', message]);
    expect(await counters(stack.runtime, 'sales')).toEqual(before);
    expect(stack.runtime.simulator?.stats.calls).toBe(calls);
  });

  it('takes tags only from the body, never from headers', async () => {
    const { status } = await post(stack, invokeBody({ costCenter: 'sales' }), {
      headers: {
        authorization: `Bearer ${apiKey}`,
        'x-cost-center': 'support',
        'x-amz-tag-costcenter': 'support',
      },
    });
    expect(status).toBe(403);
  });
});

// API Gateway answers a refused key itself, with one body for every route: each client names it.
describe('a call without a valid key on the drop-in routes, through their own clients', () => {
  const converse = { modelId: 'nova-lite', messages: [{ role: 'user' as const, content: [{ text: 'Hi' }] }] };

  it.each([
    ['ConverseCommand', () => new ConverseCommand(converse)],
    ['ConverseStreamCommand', () => new ConverseStreamCommand(converse)],
  ])('is AccessDeniedException to the AWS SDK (%s)', async (_name, command) => {
    const client = localBedrock(stack, { maxAttempts: 1 });
    const error = await client.send(command() as ConverseCommand).catch((e: Error) => e);
    expect(error).toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringMatching(/credentials/i),
      $metadata: { httpStatusCode: 401 },
    });
    client.destroy();
  });

  it('is an AuthenticationError of type authentication_error to openai, streaming or not', async () => {
    const openai = new OpenAI({ apiKey: 'not-a-key', baseURL: `${stack.url}/v1`, maxRetries: 0 });
    for (const stream of [false, true]) {
      const error = await openai.chat.completions
        .create({ model: 'nova-lite', messages: [{ role: 'user', content: 'Hi' }], stream })
        .catch((e: Error) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(error).toMatchObject({ status: 401, type: 'authentication_error', code: 'UNAUTHORIZED' });
    }
  });
});

describe('managing keys', () => {
  it('never lists a key or its hash', async () => {
    const { json } = await post(stack, {}, { method: 'GET', path: '/v1/keys' });
    const listed = json.keys.find((k: { keyId: string }) => k.keyId === keyId);
    expect(listed).toEqual({
      keyId,
      costCenters: ['support'],
      applicationIds: ['docs-helper'],
      environments: ['production'],
      description: 'docs bot',
      createdAt: expect.any(String),
    });
    expect(JSON.stringify(json)).not.toContain(parseApiKey(apiKey)?.secret ?? apiKey);
    expect(JSON.stringify(json)).not.toContain('secretHash');
  });

  it('refuses a key bound to nothing', async () => {
    const { status, json } = await post(stack, { costCenters: [] }, { path: '/v1/keys' });
    expect([status, json.error.details[0].path]).toEqual([400, 'costCenters']);
  });

  it('creates, lists and revokes keys with the CLI; a revoked key stops working at once', async () => {
    const created = await cli('keys', 'create', '--cost-centers', 'sales', '--format', 'json');
    expect(created.code).toBe(0);
    const { apiKey: salesKey, keyId: salesKeyId } = JSON.parse(created.stdout);
    expect((await call(invokeBody({ costCenter: 'sales' }), salesKey)).status).toBe(200);

    const listed = await cli('keys', 'list');
    expect(listed.stdout).toContain(salesKeyId);
    expect(listed.stdout).not.toContain(salesKey);

    const revoked = await cli('keys', 'revoke', salesKeyId);
    expect([revoked.code, revoked.stdout.trim()]).toEqual([0, `Revoked key ${salesKeyId}.`]);
    expect((await call(invokeBody({ costCenter: 'sales' }), salesKey)).status).toBe(401);
    expect((await cli('keys', 'revoke', salesKeyId)).stderr).toMatch(/NOT_FOUND \(HTTP 404\)/);
  });
});

describe('a key bound to exactly one cost center, application and environment', () => {
  it('lets a request leave its tags out: they come from the binding, and the audit line says so', async () => {
    const { prompt, model } = invokeBody();
    const { status, json } = await call({ model, prompt }, apiKey);
    expect(status).toBe(200);
    expect(json.tags).toMatchObject({
      costCenter: 'support',
      applicationId: 'docs-helper',
      environment: 'production',
    });
    const audit = logLines(stack).find((l) => l.audit?.requestId === json.requestId)?.audit;
    expect(audit).toMatchObject({ tagsFrom: 'binding' });
  });

  it('serves the AWS SDK Bedrock client with the key as its bearer token, tags left out', async () => {
    const { BedrockRuntimeClient, ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
    const client = new BedrockRuntimeClient({
      endpoint: stack.url,
      region: 'us-east-1',
      token: { token: apiKey },
      authSchemePreference: ['httpBearerAuth'],
    });
    const answer = await client.send(
      new ConverseCommand({ modelId: 'nova-lite', messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }),
    );
    expect(answer.stopReason).toBe('end_turn');
    const refused = new BedrockRuntimeClient({
      endpoint: stack.url,
      region: 'us-east-1',
      token: { token: 'cs_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      authSchemePreference: ['httpBearerAuth'],
    });
    await expect(
      refused.send(
        new ConverseCommand({
          modelId: 'nova-lite',
          messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
        }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 401 } });
    client.destroy();
    refused.destroy();
  });

  it('serves the openai package with the key as its API key', async () => {
    const { default: OpenAI } = await import('openai');
    const openai = new OpenAI({ apiKey, baseURL: `${stack.url}/v1` });
    const completion = await openai.chat.completions.create({
      model: 'nova-lite',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    await expect(
      new OpenAI({ apiKey: 'not-a-key', baseURL: `${stack.url}/v1`, maxRetries: 0 }).chat.completions.create({
        model: 'nova-lite',
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    ).rejects.toMatchObject({ status: 401 });
  });
});
