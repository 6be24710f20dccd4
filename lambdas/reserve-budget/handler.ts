import { budgetStoreFromEnv } from '../shared/clients.ts';
import type { Reservation, ValidatedRequest } from '../shared/types.ts';
import { reserveBudget } from './core.ts';

const deps = { store: budgetStoreFromEnv() };

/** ReserveBudget: Step Functions passes the validated request. */
export const handler = async (event: ValidatedRequest): Promise<Reservation> => reserveBudget(event, deps);
