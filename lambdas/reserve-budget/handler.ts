import type { Reservation, ValidatedRequest } from '../shared/rules/types.ts';
import { budgetStoreFromEnv } from '../shared/wiring/clients.ts';
import { reserveBudget } from './core.ts';

const deps = { store: budgetStoreFromEnv() };

/** ReserveBudget: Step Functions passes the validated request. */
export const handler = async (event: ValidatedRequest): Promise<Reservation> => reserveBudget(event, deps);
