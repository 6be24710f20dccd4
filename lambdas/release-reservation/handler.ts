import { sendAlerts } from '../shared/alerts.ts';
import { idempotencyScope } from '../shared/idempotency.ts';
import { meter } from '../shared/metering.ts';
import { logger, metrics } from '../shared/powertools.ts';
import { settlementDepsFromEnv } from '../shared/settlement-deps.ts';
import { type FailedState, type Failure, releaseReservation } from './core.ts';

const deps = settlementDepsFromEnv();
const { alerts, idempotency } = deps;

/** ReleaseReservation: the one failure path of the workflow. */
export const handler = async (event: FailedState): Promise<Failure> => {
  const result = await releaseReservation(event, deps);
  if (result.record.decision === 'failed') {
    // The error name only (never the Cause: it may quote upstream messages).
    logger.warn('request failed', { requestId: event.requestId, error: event.error.Error });
  }
  meter(result.record, metrics, logger);
  await sendAlerts(alerts, result.alerts, logger);
  if (event.idempotency) {
    // A failed request gives its key back, so the client's retry runs (only this request's claim).
    try {
      await idempotency.release(idempotencyScope(event.callerId), event.idempotency.key, event.requestId);
    } catch (error) {
      logger.error('idempotency claim not released', { requestId: event.requestId, error });
    }
  }
  return result.failure;
};
