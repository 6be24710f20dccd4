import { afterEach, describe, expect, it, vi } from 'vitest';
import { callApi, isLocal, regionOf } from '../../cli/client.ts';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

function captureFetch() {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (url, init) => {
    calls.push({ url: String(url), init: init ?? {} });
    return new Response('{"budgets":[]}', { status: 200, headers: { 'content-type': 'application/json' } });
  });
  return calls;
}

describe('the CLI client', () => {
  it('signs calls to a deployed stack with SigV4 for execute-api in the endpoint region', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_PROFILE', '');
    const calls = captureFetch();

    await callApi(
      { endpoint: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/' },
      'GET',
      '/v1/usage',
      { by: 'model' },
    );

    expect(calls[0]?.url).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/prod/v1/usage?by=model');
    const headers = calls[0]?.init.headers as Record<string, string>;
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('sends the admin bearer token to the local stack, and never signs it', async () => {
    const calls = captureFetch();
    await callApi({ endpoint: 'http://127.0.0.1:8787', adminToken: 't0ken' }, 'GET', '/v1/budgets');
    const headers = calls[0]?.init.headers as Record<string, string>;
    expect(headers.authorization).toBe('Bearer t0ken');
  });

  it('tells local from deployed endpoints and reads the region of a deployed one', () => {
    expect(isLocal(new URL('http://localhost:8787'))).toBe(true);
    expect(isLocal(new URL('https://abc.execute-api.us-east-1.amazonaws.com'))).toBe(false);
    expect(regionOf('abc.execute-api.ap-southeast-2.amazonaws.com')).toBe('ap-southeast-2');
    expect(regionOf('api.example.com')).toBeUndefined();
  });
});
