import { ERRORS } from '../../lambdas/shared/errors.ts';
import { INVALID_BODY_MESSAGE } from './request-model.ts';
import { fixedBody } from './templates.ts';

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

/** The body template of a gateway error (API Gateway fills in `$context.requestId`). */
export function gatewayErrorTemplate(error: { code: string; message: string }): string {
  return fixedBody(error.code, error.message);
}

/** The largest request API Gateway itself accepts (10 MB); larger ones never reach a template. */
export const GATEWAY_MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** The only route and method of the invoke API; everything else is 404 or 405. */
export const INVOKE_PATH = '/v1/invoke';
export const INVOKE_METHOD = 'POST';
