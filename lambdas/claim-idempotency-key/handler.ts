import type { ValidatedRequest } from '../shared/rules/types.ts';
import { idempotencyStoreFromEnv } from '../shared/wiring/clients.ts';
import { type ClaimResult, claimIdempotencyKey } from './core.ts';

const deps = { store: idempotencyStoreFromEnv(), now: () => Date.now() };

/** ClaimIdempotencyKey: runs only for requests that carry an Idempotency-Key. */
export const handler = async (event: ValidatedRequest): Promise<ClaimResult> =>
  claimIdempotencyKey(event, deps);
