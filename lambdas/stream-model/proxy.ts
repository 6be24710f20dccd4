import { ERRORS, type ErrorCode } from '../shared/rules/errors.ts';
import type { ExecutionInput } from '../shared/rules/types.ts';
import { converseError } from '../shared/rules/wire/converse.ts';
import { openAiError } from '../shared/rules/wire/openai-answer.ts';
import { ENVELOPE_HEADERS, type WireEnvelope, type WireError } from '../shared/rules/wire/request.ts';

/**
 * The streaming Lambda's edge, pure: the API Gateway proxy event it receives as the execution
 * input every route shares, and, for a Chat Completions request that does not stream, the
 * StartSyncExecution answer as HTTP, exactly as the drop-in response template maps it.
 */

/** The REST API's Lambda proxy event, in the fields the streaming Lambda reads. */
export interface StreamProxyEvent {
  resource: string;
  headers?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  pathParameters?: Record<string, string | undefined> | null;
  requestContext: {
    requestId: string;
    requestTimeEpoch: number;
    identity?: { userArn?: string | null } | null;
    authorizer?: Record<string, unknown> | null;
  };
}

/** The resources the streaming Lambda serves, and the wire each speaks. */
export const STREAM_RESOURCES = {
  '/model/{modelId}/converse-stream': 'converse',
  '/v1/chat/completions': 'openai',
} as const;

/** What an execution input may hold of a body: the state's 262,144 bytes less the envelope. */
const MAX_ESCAPED_BODY = 250_000;

const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;

/** An HTTP answer. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function header(event: StreamProxyEvent, name: string): string | undefined {
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1] ?? undefined;
}

/**
 * The execution input of a proxy event, with the fields the request template fills in for the
 * workflow routes: who called (the IAM principal, or the API key's binding from the authorizer),
 * the Idempotency-Key, `Cache-Control: no-cache`, the route, the model from the path. A body over the limit, or one whose
 * escaped form would not fit a Step Functions state, is not passed on: ValidateRequest answers
 * PAYLOAD_TOO_LARGE.
 */
export function executionInputOf(event: StreamProxyEvent, maxBodyBytes: number): ExecutionInput {
  const route = STREAM_RESOURCES[event.resource as keyof typeof STREAM_RESOURCES] ?? 'openai';
  const body = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  const authorizer = event.requestContext.authorizer ?? {};
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const caller = Object.fromEntries(
    Object.entries({
      principal: text(event.requestContext.identity?.userArn),
      keyId: text(authorizer.keyId),
      costCenters: text(authorizer.costCenters),
      applicationIds: text(authorizer.applicationIds),
      environments: text(authorizer.environments),
    }).filter(([, value]) => value !== undefined),
  );
  const idempotencyKey = header(event, 'idempotency-key');
  const modelId = event.pathParameters?.modelId;
  const tooLarge = body.length > maxBodyBytes || JSON.stringify(body).length > MAX_ESCAPED_BODY;
  // Cache-Control: no-cache (or no-store), in any case, skips the response cache.
  const noCache = /no-(cache|store)/i.test(header(event, 'cache-control') ?? '');
  return {
    requestId: event.requestContext.requestId,
    receivedAt: event.requestContext.requestTimeEpoch,
    caller,
    route,
    ...(route === 'converse' && modelId !== undefined ? { modelId } : {}),
    ...(tooLarge
      ? { bodyTooLarge: true }
      : { ...(idempotencyKey ? { idempotencyKey } : {}), ...(noCache ? { noCache: true } : {}), body }),
  };
}

/** Whether the request streams: always on converse-stream; on Chat Completions when it says `stream: true`. */
export function wantsStream(input: ExecutionInput): boolean {
  if (input.route !== 'openai') return true;
  try {
    return (JSON.parse(input.body ?? '') as { stream?: unknown })?.stream === true;
  } catch {
    return false; // ValidateRequest, in the workflow, says what is wrong with it
  }
}

/** The wire's own answer to a body that is not JSON, before anything runs (API Gateway's 415). */
export function mediaTypeRefusal(event: StreamProxyEvent, input: ExecutionInput): HttpAnswer | undefined {
  if (JSON_MEDIA_TYPE.test(header(event, 'content-type') ?? 'application/json')) return undefined;
  const error = ERRORS.UnsupportedMediaTypeError;
  return answerOfError(
    wireErrorOf(input.route, error.code, { message: error.message }, input.requestId),
    input.requestId,
  );
}

function wireErrorOf(
  route: ExecutionInput['route'],
  code: ErrorCode,
  fields: { message: string },
  requestId: string,
): WireError {
  return route === 'openai' ? openAiError(code, fields, requestId) : converseError(code, fields, requestId);
}

function answerOfError(error: WireError, requestId: string): HttpAnswer {
  return {
    status: error.status,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...error.headers },
    body: JSON.stringify(error.body),
  };
}

/** What StartSyncExecution answers, in the fields the response template reads. */
export interface SyncExecution {
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | string;
  output?: string | undefined;
  error?: string | undefined;
  cause?: string | undefined;
}

function answerOfEnvelope(envelope: WireEnvelope, requestId: string): HttpAnswer {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId };
  for (const [field, name] of Object.entries(ENVELOPE_HEADERS) as Array<
    [keyof typeof ENVELOPE_HEADERS, string]
  >) {
    const value = envelope[field];
    if (value) headers[name] = value;
  }
  return { status: envelope.status ?? 200, headers, body: envelope.body };
}

const OUR_CODES = new Set<string>(Object.values(ERRORS).map((e) => e.code));

/**
 * A Chat Completions execution's answer, as the drop-in response template maps it: SUCCEEDED
 * answers the last step's envelope; FAILED with one of our codes the failure handler's; any
 * other failure the wire's internal error; a timeout the wire's timeout. A test renders the
 * template over the same results and compares.
 */
export function answerOfExecution(
  route: 'openai' | 'converse',
  result: SyncExecution,
  requestId: string,
): HttpAnswer {
  const fallback = (code: 'INTERNAL_ERROR' | 'MODEL_TIMEOUT') =>
    answerOfError(
      wireErrorOf(
        route,
        code,
        {
          message:
            code === 'MODEL_TIMEOUT' ? 'The request did not complete in time.' : ERRORS.InternalError.message,
        },
        requestId,
      ),
      requestId,
    );
  if (result.status === 'SUCCEEDED') return answerOfEnvelope(JSON.parse(result.output ?? '{}'), requestId);
  if (result.status !== 'FAILED') return fallback('MODEL_TIMEOUT');
  if (result.error && result.error !== ERRORS.InternalError.code && OUR_CODES.has(result.error)) {
    return answerOfEnvelope(JSON.parse(result.cause ?? '{}'), requestId);
  }
  return fallback('INTERNAL_ERROR');
}
