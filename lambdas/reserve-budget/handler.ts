import type { ValidatedRequest } from '../shared/rules/types.ts';
import { budgetStoreFromEnv } from '../shared/wiring/clients.ts';
import { catalogFromEnv, profilesFromEnv } from '../shared/wiring/env.ts';
import { type CachedRequest, type ReservedRequest, reserveOrAnswerFromCache } from './core.ts';

const deps = {
  store: budgetStoreFromEnv(),
  catalog: catalogFromEnv(),
  profiles: profilesFromEnv(),
  now: Date.now,
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/**
 * ReserveBudget: Step Functions passes the validated request; the answer is the request as
 * InvokeModel must run it (a downgrade's model, a clamped `max_tokens`) with its reservation,
 * or, on a response cache hit, the request with `cacheHit` (the workflow then skips InvokeModel).
 */
export const handler = async (event: ValidatedRequest): Promise<ReservedRequest | CachedRequest> =>
  reserveOrAnswerFromCache(event, deps);
