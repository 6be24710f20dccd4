/** How long a key's first response is kept and replayed. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/** One Idempotency-Key, as stored. */
export interface IdempotencyRecord {
  requestId: string;
  bodyHash: string;
  status: 'IN_PROGRESS' | 'COMPLETED';
  /** The first request's response body, once it completed. */
  response?: string | undefined;
  /**
   * When the first request failed after it was charged (a model timeout, say): the error code
   * of its answer; `response` is then its public error body, replayed as that error.
   */
  errorCode?: string | undefined;
  createdAt: number;
  expiresAt: number;
}

/** Where Idempotency-Key records live. Keys are scoped to the caller that sent them. */
export interface IdempotencyStore {
  /** Claim the key for this request unless a live record holds it; returns that record when one does. */
  claim(scope: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord | undefined>;
  /**
   * Record the response of the request that holds the claim; with `errorCode`, a failure that
   * was charged, kept so a retry replays it instead of being charged again.
   */
  complete(
    scope: string,
    key: string,
    requestId: string,
    response: string,
    errorCode?: string,
  ): Promise<void>;
  /** Drop the claim of a request that failed, so a retry can run. */
  release(scope: string, key: string, requestId: string): Promise<void>;
}

/** Keys are per caller: one caller's key can never replay another caller's response. */
export const idempotencyScope = (callerId: string | undefined) => callerId ?? 'anonymous';
