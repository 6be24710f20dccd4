import { budgetStoreFromEnv } from '../shared/clients.ts';
import { catalogFromEnv } from '../shared/env.ts';
import { meter } from '../shared/metering.ts';
import { logger, metrics } from '../shared/powertools.ts';
import { type FailedState, type Failure, releaseReservation } from './core.ts';

const deps = {
  store: budgetStoreFromEnv(),
  catalog: catalogFromEnv(),
  now: () => Date.now(),
  onReleaseError: (error: unknown) =>
    logger.error('release failed; the reservation stays held until the sweeper returns it', { error }),
};

/** ReleaseReservation: the one failure path of the workflow. */
export const handler = async (event: FailedState): Promise<Failure> => {
  const { failure, record } = await releaseReservation(event, deps);
  if (record.decision === 'failed') {
    // The error name only (never the Cause: it may quote upstream messages).
    logger.warn('request failed', { requestId: event.requestId, error: event.error.Error });
  }
  meter(record, metrics, logger);
  return failure;
};
