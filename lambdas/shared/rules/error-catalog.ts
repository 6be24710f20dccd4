/** One error of the catalog. */
interface CatalogEntry {
  code: string;
  status: number;
  message: string;
  /** `false` on a model failure after which Bedrock billed nothing (see {@link NOT_BILLED}). */
  billed?: false;
}

/**
 * The error catalog: the single source of truth for error names, public codes and HTTP statuses.
 * The ASL Catch lists, the API Gateway response template and the local gateway all derive from it.
 */
export const ERRORS = {
  InvalidRequestError: { code: 'INVALID_REQUEST', status: 400, message: 'The request is invalid.' },
  UnknownModelError: { code: 'UNKNOWN_MODEL', status: 400, message: 'The model is not in the catalog.' },
  ModelRetiredError: {
    code: 'MODEL_RETIRED',
    status: 400,
    message: 'The model is retired on Amazon Bedrock.',
  },
  UnauthorizedError: { code: 'UNAUTHORIZED', status: 401, message: 'Missing or invalid credentials.' },
  ForbiddenError: { code: 'FORBIDDEN', status: 403, message: 'The caller may not use these tags.' },
  UnknownCostCenterError: {
    code: 'UNKNOWN_COST_CENTER',
    status: 403,
    message: 'The cost center has no budget.',
  },
  NotFoundError: { code: 'NOT_FOUND', status: 404, message: 'No such route.' },
  MethodNotAllowedError: {
    code: 'METHOD_NOT_ALLOWED',
    status: 405,
    message: 'This method is not allowed on this route.',
  },
  IdempotencyInProgressError: {
    code: 'IDEMPOTENCY_IN_PROGRESS',
    status: 409,
    message: 'The first request with this Idempotency-Key is still running.',
  },
  PayloadTooLargeError: {
    code: 'PAYLOAD_TOO_LARGE',
    status: 413,
    message: 'The request body is over the size limit.',
  },
  UnsupportedMediaTypeError: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    status: 415,
    message: 'The request body must be application/json.',
  },
  IdempotencyKeyReusedError: {
    code: 'IDEMPOTENCY_KEY_REUSED',
    status: 422,
    message: 'This Idempotency-Key was used before with a different body.',
  },
  BudgetExceededError: {
    code: 'BUDGET_EXCEEDED',
    status: 429,
    message: 'The request would exceed the budget.',
  },
  BudgetPolicyError: {
    code: 'BUDGET_POLICY',
    status: 429,
    message: "A budget policy refuses this model at the budget's current use.",
  },
  RateLimitedError: {
    code: 'RATE_LIMITED',
    status: 429,
    message: 'Too many requests; retry later.',
  },
  InternalError: { code: 'INTERNAL_ERROR', status: 500, message: 'Internal error.' },
  ModelError: { code: 'MODEL_ERROR', status: 502, message: 'The model failed to answer.', billed: false },
  ModelAnswerUnreadableError: {
    code: 'MODEL_ERROR',
    status: 502,
    message:
      'The model began to answer, but its answer could not be read to the end; the whole reservation is charged, as Bedrock may have billed it.',
  },
  ModelUnavailableError: {
    code: 'MODEL_ERROR',
    status: 502,
    message: 'The model is temporarily unavailable; retry later.',
    billed: false,
  },
  ModelThrottledError: {
    code: 'MODEL_THROTTLED',
    status: 503,
    message: 'The model is throttling requests; retry later.',
    billed: false,
  },
  ModelTimeoutError: { code: 'MODEL_TIMEOUT', status: 504, message: 'The model did not answer in time.' },
  DeadlineExceededError: {
    code: 'MODEL_TIMEOUT',
    status: 504,
    message: 'The request ran out of time before the model could be called.',
    billed: false,
  },
} as const satisfies Record<string, CatalogEntry>;

/**
 * Failures of InvokeModel after which Bedrock billed nothing (it refused, throttled, or was
 * never called): the entries marked `billed: false`. A request that failed with one is charged
 * nothing; any other failure after reserving is charged what Bedrock may have billed.
 */
export const NOT_BILLED: ReadonlySet<string> = new Set(
  Object.entries(ERRORS).flatMap(([name, entry]) => ('billed' in entry && !entry.billed ? [name] : [])),
);

export type ErrorName = keyof typeof ERRORS;
export type ErrorCode = (typeof ERRORS)[ErrorName]['code'];

/** One problem with the request: where it is and what is wrong. Never echoes the input values. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** What a client may see of an error, besides its code and the request ID. */
export interface PublicErrorFields {
  message: string;
  details?: ErrorDetail[];
  budget?: Record<string, unknown>;
  retryAfterSeconds?: number;
  /** A budget refusal: `spent` (waits for the reset) or `held` (by requests in flight; retry soon). */
  reason?: 'spent' | 'held';
  /** A rate limit refusal: which limit refused (`requestsPerMinute` or `tokensPerMinute`). */
  limit?: string;
  /** A budget policy refusal: the policy that refused. */
  policy?: Record<string, unknown>;
  /** A model error: Bedrock's own exception name, for the routes that speak Bedrock's wire. */
  upstream?: string;
}

/** The error body of every non-2xx response. */
export interface ErrorBody {
  error: PublicErrorFields & { code: ErrorCode; requestId: string };
}

const byCode = new Map<string, ErrorName>(
  Object.entries(ERRORS).map(([name, entry]) => [entry.code, name as ErrorName]),
);

/** The HTTP status of a public error code; unknown codes are internal errors. */
export function statusOf(code: string): number {
  const name = byCode.get(code);
  return name ? ERRORS[name].status : ERRORS.InternalError.status;
}

export function isErrorName(name: string): name is ErrorName {
  return Object.hasOwn(ERRORS, name);
}

/** At most this many details in an error body, each path and message cut to the lengths below. */
export const MAX_DETAILS = 20;
const MAX_DETAIL_PATH_CHARS = 100;
const MAX_DETAIL_MESSAGE_CHARS = 200;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

/**
 * Keep an error body small whatever the input (14,000 unknown keys must not give a 157 KB body):
 * the first {@link MAX_DETAILS} details, each cut short, and a message that says how many
 * problems there were when some are left out.
 */
export function capDetails(
  message: string,
  details: ErrorDetail[],
): { message: string; details: ErrorDetail[] } {
  const kept = details.slice(0, MAX_DETAILS).map((detail) => ({
    path: cut(detail.path, MAX_DETAIL_PATH_CHARS),
    message: cut(detail.message, MAX_DETAIL_MESSAGE_CHARS),
  }));
  const more =
    details.length > MAX_DETAILS ? ` ${MAX_DETAILS} of ${details.length} problems are listed.` : '';
  return { message: `${message}${more}`, details: kept };
}

/** Build the public error body. */
export function errorBody(code: ErrorCode, requestId: string, fields: PublicErrorFields): ErrorBody {
  return { error: { code, message: fields.message, requestId, ...withoutMessage(fields) } };
}

/** The fields the seed format's body carries besides the message: not Bedrock's exception name, which only the Converse route passes on. */
function withoutMessage(fields: PublicErrorFields): Omit<PublicErrorFields, 'message' | 'upstream'> {
  const { message: _message, upstream: _upstream, ...rest } = fields;
  return rest;
}

/**
 * Read a failure as Step Functions reports it (`Error` and `Cause`) and keep only what a client
 * may see. The Cause of a Lambda error is `{"errorType","errorMessage","trace"}`; only our own
 * error types carry public fields, everything else becomes a generic internal error.
 */
export function publicFailure(
  error: string,
  cause: string | undefined,
): { code: ErrorCode; fields: PublicErrorFields } {
  if (error === 'States.Timeout') {
    return { code: ERRORS.ModelTimeoutError.code, fields: { message: ERRORS.ModelTimeoutError.message } };
  }
  if (isErrorName(error) && cause) {
    const fields = publicFieldsOf(cause);
    if (fields) return { code: ERRORS[error].code, fields };
  }
  return { code: ERRORS.InternalError.code, fields: { message: ERRORS.InternalError.message } };
}

/** Parse the public fields out of a Lambda error Cause; undefined when it is not one of ours. */
export function publicFieldsOf(cause: string): PublicErrorFields | undefined {
  try {
    const parsed: unknown = JSON.parse(cause);
    const errorMessage = (parsed as { errorMessage?: unknown }).errorMessage;
    if (typeof errorMessage !== 'string') return undefined;
    const fields = JSON.parse(errorMessage) as PublicErrorFields;
    if (typeof fields.message !== 'string') return undefined;
    return {
      message: fields.message,
      ...(Array.isArray(fields.details) ? { details: fields.details } : {}),
      ...(fields.budget && typeof fields.budget === 'object' ? { budget: fields.budget } : {}),
      ...(typeof fields.retryAfterSeconds === 'number'
        ? { retryAfterSeconds: fields.retryAfterSeconds }
        : {}),
      ...(fields.reason === 'spent' || fields.reason === 'held' ? { reason: fields.reason } : {}),
      ...(typeof fields.upstream === 'string' ? { upstream: fields.upstream } : {}),
      ...(typeof fields.limit === 'string' ? { limit: fields.limit } : {}),
      ...(fields.policy && typeof fields.policy === 'object' ? { policy: fields.policy } : {}),
    };
  } catch {
    return undefined;
  }
}
