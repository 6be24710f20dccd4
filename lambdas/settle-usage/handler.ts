import { budgetStoreFromEnv } from '../shared/clients.ts';
import { catalogFromEnv } from '../shared/env.ts';
import { meter } from '../shared/metering.ts';
import { logger, metrics } from '../shared/powertools.ts';
import type { Invocation, Reservation, WorkflowState } from '../shared/types.ts';
import { type InvokeResponse, settleUsage } from './core.ts';

const deps = { store: budgetStoreFromEnv(), catalog: catalogFromEnv(), now: () => Date.now() };

/** SettleUsage: charge the real usage, meter it, and return the response body. */
export const handler = async (
  event: WorkflowState & { reservation: Reservation; invocation: Invocation },
): Promise<InvokeResponse> => {
  const { response, record } = await settleUsage(event, deps);
  meter(record, metrics, logger);
  return response;
};
