import type { ValidatedRequest } from '../shared/rules/types.ts';
import { budgetStoreFromEnv } from '../shared/wiring/clients.ts';
import { catalogFromEnv, profilesFromEnv } from '../shared/wiring/env.ts';
import { type ReservedRequest, reserveBudget } from './core.ts';

const deps = {
  store: budgetStoreFromEnv(),
  catalog: catalogFromEnv(),
  profiles: profilesFromEnv(),
  now: Date.now,
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/**
 * ReserveBudget: Step Functions passes the validated request; the answer is the request as
 * InvokeModel must run it (a downgrade's model, a clamped `max_tokens`) with its reservation.
 */
export const handler = async (event: ValidatedRequest): Promise<ReservedRequest> =>
  reserveBudget(event, deps);
