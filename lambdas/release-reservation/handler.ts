import { sendAlerts } from '../shared/alerts.ts';
import { alertSinkFromEnv, budgetStoreFromEnv } from '../shared/clients.ts';
import { catalogFromEnv } from '../shared/env.ts';
import { meter } from '../shared/metering.ts';
import { logger, metrics } from '../shared/powertools.ts';
import { type FailedState, type Failure, releaseReservation } from './core.ts';

const deps = {
  store: budgetStoreFromEnv(),
  catalog: catalogFromEnv(),
  now: () => Date.now(),
  onError: (what: string, error: unknown) => logger.error(what, { error }),
};
const alerts = alertSinkFromEnv();

/** ReleaseReservation: the one failure path of the workflow. */
export const handler = async (event: FailedState): Promise<Failure> => {
  const result = await releaseReservation(event, deps);
  if (result.record.decision === 'failed') {
    // The error name only (never the Cause: it may quote upstream messages).
    logger.warn('request failed', { requestId: event.requestId, error: event.error.Error });
  }
  meter(result.record, metrics, logger);
  await sendAlerts(alerts, result.alerts, logger);
  return result.failure;
};
