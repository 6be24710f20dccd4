import type { ErrorCode } from '../../lambdas/shared/rules/errors.ts';
import { ERRORS } from '../../lambdas/shared/rules/errors.ts';
import { converseError } from '../../lambdas/shared/rules/wire/converse.ts';
import { openAiError } from '../../lambdas/shared/rules/wire/openai-answer.ts';
import type { Route } from '../../lambdas/shared/rules/wire/request.ts';
import { INVALID_BODY_MESSAGE } from './request-model.ts';

/**
 * Answers the gateway gives without running the workflow: unknown routes, wrong methods, wrong
 * media types, bodies over the gateway's own limit. CDK deploys them (mock integrations and
 * gateway responses) and the local gateway renders the same bodies.
 */
export const GATEWAY_ERRORS = {
  invalidBody: { ...ERRORS.InvalidRequestError, message: INVALID_BODY_MESSAGE },
  notFound: ERRORS.NotFoundError,
  methodNotAllowed: ERRORS.MethodNotAllowedError,
  unsupportedMediaType: ERRORS.UnsupportedMediaTypeError,
  payloadTooLarge: ERRORS.PayloadTooLargeError,
  unauthorized: ERRORS.UnauthorizedError,
  forbidden: ERRORS.ForbiddenError,
  internal: ERRORS.InternalError,
} as const;

/** One of API Gateway's own responses, in our error shape. */
export interface GatewayResponseSpec {
  /** API Gateway's response type (see "Gateway response types" in the API Gateway guide). */
  type: string;
  error: { code: string; status: number; message: string };
  /** The HTTP status; absent on the DEFAULT_ types, which keep the status of the response they stand for. */
  status?: number;
  /** Seconds a client should wait, where waiting helps. */
  retryAfterSeconds?: number;
  /** More static headers. */
  headers?: Record<string, string>;
}

const RATE_LIMITED = ERRORS.RateLimitedError;

/**
 * Every response API Gateway can give without our integration answering, each with our body,
 * our code and, where waiting helps, `Retry-After`. The stack deploys each as a gateway response.
 */
export const GATEWAY_RESPONSES: readonly GatewayResponseSpec[] = [
  { type: 'UNSUPPORTED_MEDIA_TYPE', error: ERRORS.UnsupportedMediaTypeError },
  // Unknown routes have their own 404 (mock integrations), so this is only ever an unsigned call.
  { type: 'MISSING_AUTHENTICATION_TOKEN', error: ERRORS.UnauthorizedError },
  { type: 'ACCESS_DENIED', error: ERRORS.ForbiddenError },
  { type: 'UNAUTHORIZED', error: ERRORS.UnauthorizedError },
  { type: 'EXPIRED_TOKEN', error: ERRORS.UnauthorizedError },
  { type: 'INVALID_SIGNATURE', error: ERRORS.UnauthorizedError },
  { type: 'INVALID_API_KEY', error: ERRORS.UnauthorizedError },
  { type: 'REQUEST_TOO_LARGE', error: ERRORS.PayloadTooLargeError },
  { type: 'BAD_REQUEST_BODY', error: GATEWAY_ERRORS.invalidBody },
  { type: 'BAD_REQUEST_PARAMETERS', error: ERRORS.InvalidRequestError },
  { type: 'RESOURCE_NOT_FOUND', error: ERRORS.NotFoundError },
  {
    type: 'THROTTLED',
    error: {
      ...RATE_LIMITED,
      message: 'The API is over its request rate; retry after the Retry-After seconds.',
    },
    retryAfterSeconds: 1,
  },
  {
    type: 'QUOTA_EXCEEDED',
    error: { ...RATE_LIMITED, message: "The caller's usage plan quota is spent for its period." },
  },
  {
    // The web ACL's only rule is the per-IP rate rule (deployment.waf), so a block is a rate limit.
    type: 'WAF_FILTERED',
    error: {
      ...RATE_LIMITED,
      message: 'This address is over the firewall rate limit; retry after the Retry-After seconds.',
    },
    retryAfterSeconds: 60,
  },
  {
    type: 'INTEGRATION_TIMEOUT',
    error: {
      ...ERRORS.ModelTimeoutError,
      message:
        'The request did not complete in time and may still be charged; retry with the same Idempotency-Key.',
    },
    // The `openai` client retries a 5xx unless told not to; the request may still be running.
    headers: { 'x-should-retry': 'false' },
  },
  { type: 'INTEGRATION_FAILURE', error: ERRORS.InternalError },
  { type: 'API_CONFIGURATION_ERROR', error: ERRORS.InternalError },
  { type: 'AUTHORIZER_FAILURE', error: ERRORS.InternalError },
  { type: 'AUTHORIZER_CONFIGURATION_ERROR', error: ERRORS.InternalError },
  { type: 'DEFAULT_4XX', error: ERRORS.InvalidRequestError },
  { type: 'DEFAULT_5XX', error: ERRORS.InternalError },
].map((spec) => (spec.type.startsWith('DEFAULT_') ? spec : { ...spec, status: spec.error.status }));

/**
 * The body template of a gateway error (API Gateway fills in `$context.requestId`). A gateway
 * response has one body for every route (its template is not VTL: it only substitutes
 * variables), so the body is one that each route's clients read: ours (`error.code`,
 * `error.requestId`), OpenAI's (`error.type` and `error.message`) and the AWS SDK's (`message`,
 * with the exception's name in `x-amzn-ErrorType`: {@link gatewayErrorHeaders}).
 */
export function gatewayErrorTemplate(error: { code: string; message: string }): string {
  const { body } = openAiError(error.code as ErrorCode, { message: error.message }, '');
  const { type } = (body as { error: { type: string } }).error;
  return JSON.stringify({
    error: { code: error.code, message: error.message, requestId: '$context.requestId', type },
    message: error.message,
  });
}

/** The static headers of a gateway error: the Bedrock exception the AWS SDK names it by. */
export function gatewayErrorHeaders(error: { code: string; message: string }): Record<string, string> {
  const { headers } = converseError(error.code as ErrorCode, { message: error.message }, '');
  return { 'x-amzn-ErrorType': headers['x-amzn-ErrorType'] as string };
}

/** The largest request API Gateway itself accepts (10 MB); larger ones never reach a template. */
export const GATEWAY_MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** The only route and method of the invoke API; everything else is 404 or 405. */
export const INVOKE_PATH = '/v1/invoke';
export const INVOKE_METHOD = 'POST';

/**
 * The routes that run the workflow, one per wire format, all POST: the seed format, Bedrock's
 * Converse (the model in the path) and OpenAI's Chat Completions.
 */
export const WIRE_ROUTES = [
  { route: 'invoke', path: INVOKE_PATH, pattern: /^\/v1\/invoke$/ },
  { route: 'converse', path: '/model/{modelId}/converse', pattern: /^\/model\/([^/]+)\/converse$/ },
  { route: 'openai', path: '/v1/chat/completions', pattern: /^\/v1\/chat\/completions$/ },
] as const satisfies ReadonlyArray<{ route: Route; path: string; pattern: RegExp }>;

/**
 * The routes the streaming Lambda serves (a Lambda proxy with response streaming): Bedrock's
 * ConverseStream, and Chat Completions, which streams with `stream: true` and otherwise runs the
 * workflow through StartSyncExecution from that Lambda. A request template cannot read the body,
 * so API Gateway cannot send `stream: true` elsewhere.
 */
export const STREAM_ROUTES = [
  {
    route: 'converse',
    path: '/model/{modelId}/converse-stream',
    pattern: /^\/model\/([^/]+)\/converse-stream$/,
  },
  { route: 'openai', path: '/v1/chat/completions', pattern: /^\/v1\/chat\/completions$/ },
] as const satisfies ReadonlyArray<{ route: Route; path: string; pattern: RegExp }>;
