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
    message: 'The model answered, but its answer could not be read; it is charged as Bedrock billed it.',
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

/**
 * Base class of every expected failure. The `name` is set explicitly so that it survives
 * minification: Step Functions matches `ErrorEquals` on it.
 *
 * The Lambda runtime reports only `name` and `message` of a thrown error, so `message` carries
 * the public fields as JSON; {@link publicFieldsOf} reads them back.
 */
export class SentryError extends Error {
  readonly errorName: ErrorName;
  readonly fields: PublicErrorFields;

  constructor(name: ErrorName, fields: Partial<PublicErrorFields> = {}, options?: ErrorOptions) {
    const publicFields: PublicErrorFields = { ...fields, message: fields.message ?? ERRORS[name].message };
    super(JSON.stringify(publicFields), options);
    this.name = name;
    this.errorName = name;
    this.fields = publicFields;
  }

  get code(): ErrorCode {
    return ERRORS[this.errorName].code;
  }
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

export class InvalidRequestError extends SentryError {
  constructor(message: string, details?: ErrorDetail[], options?: ErrorOptions) {
    super('InvalidRequestError', details ? capDetails(message, details) : { message }, options);
  }
}

export class UnknownModelError extends SentryError {
  constructor(message: string) {
    super('UnknownModelError', { message });
  }
}

/** The alias names a model Bedrock has retired; the details name its replacement. */
export class ModelRetiredError extends SentryError {
  constructor(alias: string, retiredOn: string | undefined, replacement: string) {
    const when = retiredOn ? ` on ${retiredOn}` : '';
    super('ModelRetiredError', {
      message: `The model '${alias}' was retired on Amazon Bedrock${when}; use '${replacement}' instead.`,
      details: [{ path: 'model', message: `retired${when}; replacement: ${replacement}` }],
    });
  }
}

/** Missing or invalid credentials: no API key, an unknown or revoked one, a wrong secret. */
export class UnauthorizedError extends SentryError {
  constructor() {
    super('UnauthorizedError');
  }
}

/** No such route, or no such resource on it (a budget, an API key). */
export class NotFoundError extends SentryError {
  constructor(message: string) {
    super('NotFoundError', { message });
  }
}

/** The route exists but has no such method; the message lists those it has. */
export class MethodNotAllowedError extends SentryError {
  constructor(allowed: readonly string[]) {
    super('MethodNotAllowedError', { message: `Allowed: ${allowed.join(', ')}.` });
  }
}

export class PayloadTooLargeError extends SentryError {
  constructor(limitBytes: number) {
    super('PayloadTooLargeError', { message: `The request body is over the ${limitBytes}-byte limit.` });
  }
}

export class UnsupportedMediaTypeError extends SentryError {
  constructor() {
    super('UnsupportedMediaTypeError');
  }
}

export class IdempotencyKeyReusedError extends SentryError {
  constructor() {
    super('IdempotencyKeyReusedError');
  }
}

export class IdempotencyInProgressError extends SentryError {
  constructor() {
    super('IdempotencyInProgressError');
  }
}

export class ForbiddenError extends SentryError {
  constructor(message: string) {
    super('ForbiddenError', { message });
  }
}

export class UnknownCostCenterError extends SentryError {
  constructor(costCenter: string) {
    super('UnknownCostCenterError', { message: `Cost center '${costCenter}' has no budget.` });
  }
}

export class BudgetExceededError extends SentryError {
  /** `reason`: `held` when the request would fit once the requests in flight settle, else `spent`. */
  constructor(
    message: string,
    budget: Record<string, unknown>,
    retryAfterSeconds: number,
    reason?: 'spent' | 'held',
  ) {
    super('BudgetExceededError', { message, budget, retryAfterSeconds, ...(reason ? { reason } : {}) });
  }
}

/** A budget's soft limit refuses the model at the budget's current use; `policy` is the policy. */
export class BudgetPolicyError extends SentryError {
  constructor(
    message: string,
    policy: Record<string, unknown>,
    budget: Record<string, unknown>,
    retryAfterSeconds: number,
  ) {
    super('BudgetPolicyError', { message, policy, budget, retryAfterSeconds });
  }
}

/** A scope's rate limit refuses the request in this UTC minute; `limit` names which. */
export class RateLimitedError extends SentryError {
  constructor(message: string, limit: string, budget: Record<string, unknown>, retryAfterSeconds: number) {
    super('RateLimitedError', { message, limit, budget, retryAfterSeconds });
  }
}

export class ModelThrottledError extends SentryError {
  constructor(retryAfterSeconds: number, options?: ErrorOptions) {
    super('ModelThrottledError', { retryAfterSeconds }, options);
  }
}

export class ModelTimeoutError extends SentryError {
  constructor(options?: ErrorOptions) {
    super('ModelTimeoutError', {}, options);
  }
}

/** No time was left to call the model (again) within the execution's deadline; nothing was sent. */
export class DeadlineExceededError extends SentryError {
  constructor() {
    super('DeadlineExceededError');
  }
}

export class ModelError extends SentryError {
  /** `upstream`: Bedrock's own exception name, passed on by the Converse route. */
  constructor(message: string, options?: ErrorOptions & { upstream?: string }) {
    super('ModelError', { message, ...(options?.upstream ? { upstream: options.upstream } : {}) }, options);
  }
}

/** A transient upstream failure (Bedrock unavailable or failing inside): retried, then MODEL_ERROR. */
/** Bedrock answered success, but the answer could not be read (cut off, not JSON): billed, so charged. */
export class ModelAnswerUnreadableError extends SentryError {
  constructor(options?: ErrorOptions) {
    super('ModelAnswerUnreadableError', {}, options);
  }
}

export class ModelUnavailableError extends SentryError {
  constructor(options?: ErrorOptions) {
    super('ModelUnavailableError', {}, options);
  }
}

/** A failure of a DynamoDB store (budgets, keys, idempotency): the request is refused (fail closed), with a generic body. */
export class StoreError extends SentryError {
  constructor(options?: ErrorOptions) {
    super('InternalError', {}, options);
    // A distinct name lets the state machine and the logs tell a store failure from other faults.
    this.name = 'StoreError';
  }
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
