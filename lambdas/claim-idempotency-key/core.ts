import { IdempotencyInProgressError, IdempotencyKeyReusedError } from '../shared/rules/errors.ts';
import {
  IDEMPOTENCY_TTL_SECONDS,
  type IdempotencyStore,
  idempotencyScope,
} from '../shared/rules/idempotency.ts';
import type { ValidatedRequest } from '../shared/rules/types.ts';

export interface ClaimDeps {
  store: IdempotencyStore;
  now: () => number;
}

/**
 * `replay` is the first request's response body when the key has one; otherwise the key is now
 * ours. `replayError` is that response's error code when the first request failed after it was
 * charged: the body is then replayed as that error.
 */
export interface ClaimResult {
  replay: string | null;
  replayError: string | null;
}

/**
 * Claim the request's Idempotency-Key before anything is reserved. The same key with the same
 * body replays the first response (no Bedrock call, no charge), an error too when that request
 * was charged for it (a model timeout); with another body it is 422
 * IDEMPOTENCY_KEY_REUSED; while the first request still runs it is 409 IDEMPOTENCY_IN_PROGRESS.
 */
export async function claimIdempotencyKey(request: ValidatedRequest, deps: ClaimDeps): Promise<ClaimResult> {
  if (!request.idempotency) return { replay: null, replayError: null };
  const { key, bodyHash } = request.idempotency;
  const now = deps.now();
  const held = await deps.store.claim(idempotencyScope(request.callerId), key, {
    requestId: request.requestId,
    bodyHash,
    status: 'IN_PROGRESS',
    createdAt: now,
    expiresAt: Math.floor(now / 1000) + IDEMPOTENCY_TTL_SECONDS,
  });
  // Free, or already ours (Step Functions retried this step after the claim went through).
  if (!held || held.requestId === request.requestId) return { replay: null, replayError: null };
  if (held.bodyHash !== bodyHash) throw new IdempotencyKeyReusedError();
  if (held.status === 'COMPLETED' && held.response !== undefined) {
    return { replay: held.response, replayError: held.errorCode ?? null };
  }
  throw new IdempotencyInProgressError();
}
