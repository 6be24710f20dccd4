import { sendAlerts } from '../shared/alerts.ts';
import { alertSinkFromEnv, budgetStoreFromEnv } from '../shared/clients.ts';
import { catalogFromEnv } from '../shared/env.ts';
import { meter } from '../shared/metering.ts';
import { logger, metrics } from '../shared/powertools.ts';
import type { Invocation, Reservation, WorkflowState } from '../shared/types.ts';
import { type InvokeResponse, settleUsage } from './core.ts';

const deps = {
  store: budgetStoreFromEnv(),
  catalog: catalogFromEnv(),
  now: () => Date.now(),
  onError: (what: string, error: unknown) => logger.error(what, { error }),
};
const alerts = alertSinkFromEnv();

/** SettleUsage: charge the real usage, meter it, send any budget alert, and return the response body. */
export const handler = async (
  event: WorkflowState & { reservation: Reservation; invocation: Invocation },
): Promise<InvokeResponse> => {
  const result = await settleUsage(event, deps);
  meter(result.record, metrics, logger);
  await sendAlerts(alerts, result.alerts, logger);
  return result.response;
};
