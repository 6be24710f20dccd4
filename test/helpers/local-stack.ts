import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BedrockRuntimeClient, type BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack.ts';
import { exampleConfig } from './fixtures.ts';
import { FAST_RETRIES } from './local-runtime.ts';

/** The local stack on a free port, its metric and audit lines in a temporary file only. */
export function startTestStack(options: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  return startLocalStack({
    config: exampleConfig(),
    port: 0,
    logFile: join(mkdtempSync(join(tmpdir(), 'cost-sentry-')), 'sentry.log'),
    echoLogs: false,
    retryIntervalOverrides: FAST_RETRIES,
    ...options,
  });
}

/** The AWS SDK's own Bedrock client, pointed at the local stack, which signs nothing it checks. */
export function localBedrock(
  stack: LocalStack,
  config: BedrockRuntimeClientConfig = {},
): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    endpoint: stack.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...config,
  });
}

/** A monthly budget of `limitPico` for a cost center, straight into the stack's table. */
export function putTestBudget(stack: LocalStack, costCenter: string, limitPico: bigint): Promise<void> {
  return stack.runtime.store.putBudget({ costCenter, period: 'monthly', limitPico, alertThresholds: [] });
}

/** POST a JSON body (or raw text) to the stack. */
export async function post(
  stack: LocalStack,
  body: unknown,
  init: { path?: string; headers?: Record<string, string>; method?: string } = {},
): Promise<{ status: number; headers: Headers; json: Record<string, any> }> {
  const response = await fetch(`${stack.url}${init.path ?? '/v1/invoke'}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.method === 'GET' || init.method === 'HEAD'
      ? {}
      : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : {} };
}

/** The JSON lines the stack wrote to its log file. */
export function logLines(stack: LocalStack): Array<Record<string, any>> {
  return readFileSync(stack.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}
