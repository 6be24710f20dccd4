import {
  capDetails,
  ERRORS,
  type ErrorCode,
  type ErrorDetail,
  type ErrorName,
  type PublicErrorFields,
} from './error-catalog.ts';

/**
 * Our errors as classes, one per catalog entry (error-catalog.ts holds the catalog, the public
 * bodies and what derives from them; this module passes it all on, so `errors.ts` stays the one
 * place a step imports errors from).
 */
export * from './error-catalog.ts';

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

/** Bedrock began to answer, but the answer could not be read to its end (cut off, not JSON, a stream that failed): it may be billed, so its reservation is charged. */
export class ModelAnswerUnreadableError extends SentryError {
  constructor(options?: ErrorOptions) {
    super('ModelAnswerUnreadableError', {}, options);
  }
}

/** A transient upstream failure (Bedrock unavailable or failing inside): retried, then MODEL_ERROR. */
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
