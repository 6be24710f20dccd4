import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { budgetStoreFromEnv } from '../shared/clients.ts';
import { picoToUsd } from '../shared/money.ts';
import { logger, metrics } from '../shared/powertools.ts';
import { type SweepResult, sweepReservations } from './core.ts';

const deps = { store: budgetStoreFromEnv(), now: () => new Date() };

/** SweepReservations: runs on a schedule (every few minutes on AWS, a timer in the local stack). */
export const handler = async (): Promise<Omit<SweepResult, 'releasedPico'> & { releasedUsd: number }> => {
  const result = await sweepReservations(deps);
  const summary = {
    found: result.found,
    released: result.released,
    failed: result.failed,
    releasedUsd: picoToUsd(result.releasedPico),
  };
  if (result.failed > 0) logger.error('some stale reservations could not be returned', { sweep: summary });
  if (result.released > 0) {
    logger.warn('stale reservations returned', { sweep: summary });
    const single = metrics.singleMetric();
    single.clearDefaultDimensions();
    single.addMetric('ReservationsSwept', MetricUnit.Count, result.released);
  }
  return summary;
};
