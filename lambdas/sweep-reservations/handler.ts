import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { budgetStoreFromEnv } from '../shared/clients.ts';
import { picoToUsd } from '../shared/money.ts';
import { logger, metrics } from '../shared/powertools.ts';
import { sweepReservations } from './core.ts';

const deps = { store: budgetStoreFromEnv(), now: () => new Date() };

/** SweepReservations: runs on a schedule (every few minutes on AWS, a timer in the local stack). */
export const handler = async (): Promise<{
  found: number;
  closed: number;
  failed: number;
  chargedUsd: number;
}> => {
  const result = await sweepReservations(deps);
  const summary = {
    found: result.found,
    closed: result.closed,
    failed: result.failed,
    chargedUsd: picoToUsd(result.chargedPico),
  };
  if (result.failed > 0) logger.error('some stale reservations could not be closed', { sweep: summary });
  if (result.closed > 0) {
    logger.warn('stale reservations closed and charged', { sweep: summary });
    const single = metrics.singleMetric();
    single.clearDefaultDimensions();
    single.addMetric('ReservationsSwept', MetricUnit.Count, result.closed);
  }
  return summary;
};
