import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** The local stack's address: what the CLI talks to unless told otherwise. */
export const LOCAL_ENDPOINT = 'http://127.0.0.1:8787';

export interface ClientOptions {
  endpoint: string;
  /** Bearer token for the local stack's admin API. */
  adminToken?: string | undefined;
  /** Region for SigV4; read from the endpoint's host name when absent. */
  region?: string | undefined;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
  /** Seconds from the Retry-After header, when the answer has one. */
  retryAfter?: number | undefined;
}

/** A failure the CLI reports and exits 1 on. */
export class CliError extends Error {
  override name = 'CliError';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Is this endpoint the local stack (bearer token) or a deployed one (SigV4)? */
export function isLocal(endpoint: URL): boolean {
  return LOOPBACK.has(endpoint.hostname);
}

/** The region of an API Gateway host name (`id.execute-api.eu-west-1.amazonaws.com`). */
export function regionOf(hostname: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(hostname)?.[1];
}

/**
 * Call the sentry's API. A deployed stack gets a SigV4-signed request (credentials from the
 * normal AWS chain); the local stack gets the admin bearer token when there is one.
 */
export async function callApi(
  options: ClientOptions,
  method: string,
  path: string,
  query: Record<string, string | undefined> = {},
  body?: unknown,
): Promise<ApiAnswer> {
  let base: URL;
  try {
    base = new URL(options.endpoint);
  } catch {
    throw new CliError(`--endpoint is not a URL: ${options.endpoint}`);
  }
  const url = new URL(`${base.pathname.replace(/\/$/, '')}${path}`, base);
  const params = Object.fromEntries(
    Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
  );
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  let headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };

  if (isLocal(url)) {
    if (options.adminToken) headers.authorization = `Bearer ${options.adminToken}`;
  } else {
    const region = options.region ?? regionOf(url.hostname) ?? process.env.AWS_REGION;
    if (!region) throw new CliError('cannot tell the region of the endpoint; pass --region');
    const signer = new SignatureV4({
      service: 'execute-api',
      region,
      credentials: defaultProvider(),
      sha256: Hash.bind(null, 'sha256'),
    });
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: url.pathname,
      query: params,
      headers: { ...headers, host: url.host },
      ...(payload !== undefined ? { body: payload } : {}),
    });
    headers = signed.headers as Record<string, string>;
  }

  let response: Response;
  try {
    response = await fetch(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  } catch (error) {
    const hint = isLocal(url) ? ' Is the local stack running (npm start)?' : '';
    throw new CliError(`cannot reach ${url.origin}: ${(error as Error).message}.${hint}`);
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text for the error message.
  }
  const retryAfter = response.headers.get('retry-after');
  return { status: response.status, body: parsed, ...(retryAfter ? { retryAfter: Number(retryAfter) } : {}) };
}
