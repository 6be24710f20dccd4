import { describe, expect, it } from 'vitest';
import { openAiError } from '../../lambdas/shared/rules/wire/openai-answer.ts';
import { envelopeOf } from '../../lambdas/shared/rules/wire/request.ts';
import {
  answerOfExecution,
  executionInputOf,
  type StreamProxyEvent,
  type SyncExecution,
  wantsStream,
} from '../../lambdas/stream-model/proxy.ts';
import { dropInResponseTemplate, requestTemplate } from '../../lib/api/templates.ts';
import { renderTemplate } from '../../local/vtl.ts';

/**
 * Chat Completions reaches the streaming Lambda whole on AWS; what does not stream, it hands to
 * the workflow. These hold its edge to the mapping templates the other routes deploy: the same
 * execution input, and the same answer for the same execution.
 */
const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:cost-sentry';
const MAX_BODY = 204_800;
const requestId = '6b1c3e0e-0000-4000-8000-000000000001';
const requestTimeEpoch = 1_796_000_000_000;

const event = (body: string, headers: Record<string, string> = {}, authorizer?: Record<string, string>) =>
  ({
    resource: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    requestContext: {
      requestId,
      requestTimeEpoch,
      identity: { userArn: null },
      authorizer: authorizer ?? null,
    },
  }) satisfies StreamProxyEvent;

/** The execution input the request template builds, empty caller fields left out as the Lambda leaves them. */
function templateInput(body: string, headers: Record<string, string>, authorizer?: Record<string, string>) {
  const rendered = renderTemplate(requestTemplate(ARN, MAX_BODY, 'openai'), {
    body,
    requestId,
    requestTimeEpoch,
    headers,
    authorizer,
  });
  const input = JSON.parse((JSON.parse(rendered.body) as { input: string }).input);
  input.caller = Object.fromEntries(Object.entries(input.caller).filter(([, v]) => v !== ''));
  return input;
}

describe('the execution input of a Chat Completions request', () => {
  it.each([
    ['a plain body', '{"model":"nova-lite","messages":[]}', {}, undefined],
    ['an Idempotency-Key', '{"model":"nova-lite"}', { 'Idempotency-Key': 'retry-1' }, undefined],
    ['Cache-Control: no-cache', '{"model":"nova-lite"}', { 'Cache-Control': 'No-Cache' }, undefined],
    ['Cache-Control: max-age=0', '{"model":"nova-lite"}', { 'Cache-Control': 'max-age=0' }, undefined],
    ['an API key binding', '{"model":"x"}', {}, { keyId: 'k1', costCenters: 'support', applicationIds: '*' }],
    [
      'quotes and non-ASCII text',
      '{"model":"n\\"ova","messages":[{"content":"héllo \'x\'"}]}',
      {},
      undefined,
    ],
    [
      'a body over the limit',
      JSON.stringify({ model: 'x'.repeat(MAX_BODY) }),
      { 'Idempotency-Key': 'k', 'Cache-Control': 'no-store' },
      undefined,
    ],
  ])('is what the request template builds, with %s', (_, body, headers, authorizer) => {
    expect(executionInputOf(event(body, headers, authorizer), MAX_BODY)).toEqual(
      templateInput(body, headers, authorizer),
    );
  });

  it.each([
    ['{"stream":true}', true],
    ['{"stream":false}', false],
    ['{}', false],
    ['not json', false],
  ])('streams %s: %s', (body, streams) => {
    expect(wantsStream(executionInputOf(event(body), MAX_BODY))).toBe(streams);
  });
});

describe('the answer of a Chat Completions execution', () => {
  const spent = envelopeOf(
    openAiError('BUDGET_EXCEEDED', { message: 'spent', reason: 'spent', retryAfterSeconds: 60 }, requestId),
  );
  const throttled = envelopeOf(
    openAiError('MODEL_THROTTLED', { message: 'slow', retryAfterSeconds: 2 }, requestId),
  );
  const executions: Array<[string, SyncExecution]> = [
    [
      'a success with its headers',
      {
        status: 'SUCCEEDED',
        output: JSON.stringify({
          body: '{"id":"chatcmpl-1","object":"chat.completion"}',
          costUsd: '0.5',
          remainingUsd: '9',
        }),
      },
    ],
    ['a spent budget', { status: 'FAILED', error: 'BUDGET_EXCEEDED', cause: JSON.stringify(spent) }],
    ['a throttled model', { status: 'FAILED', error: 'MODEL_THROTTLED', cause: JSON.stringify(throttled) }],
    ['a failure outside the failure handler', { status: 'FAILED', error: 'States.Runtime', cause: 'boom' }],
    ['a timed-out execution', { status: 'TIMED_OUT' }],
  ];

  it.each(executions)('is what the drop-in response template answers, for %s', (_, execution) => {
    const rendered = renderTemplate(dropInResponseTemplate('openai'), {
      body: JSON.stringify(execution),
      requestId,
      requestTimeEpoch,
    });
    const answer = answerOfExecution('openai', execution, requestId);
    expect(answer.status).toBe(rendered.status ?? 200);
    expect(JSON.parse(answer.body)).toEqual(JSON.parse(rendered.body.trim()));
    const lower = (headers: Record<string, string>) =>
      Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    expect(lower(answer.headers)).toMatchObject(lower(rendered.headers));
  });
});
