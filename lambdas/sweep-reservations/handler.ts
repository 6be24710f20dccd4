import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { sendAlerts } from '../shared/adapters/alerts.ts';
import { meter } from '../shared/adapters/metering.ts';
import { picoToUsd } from '../shared/rules/money.ts';
import { alertSinkFromEnv } from '../shared/wiring/alert-sink.ts';
import { budgetStoreFromEnv } from '../shared/wiring/clients.ts';
import { logger, metrics } from '../shared/wiring/powertools.ts';
import { sweepReservations } from './core.ts';

const deps = {
  store: budgetStoreFromEnv(),
  now: () => new Date(),
  onError: (what: string, error: unknown) => logger.error(what, { error }),
};
const alerts = alertSinkFromEnv();

/** SweepReservations: runs on a schedule (every few minutes on AWS, a timer in the local stack). */
export const handler = async (): Promise<{
  found: number;
  closed: number;
  failed: number;
  forgotten: number;
  chargedUsd: number;
}> => {
  const result = await sweepReservations(deps);
  const summary = {
    found: result.found,
    closed: result.closed,
    failed: result.failed,
    forgotten: result.forgotten,
    chargedUsd: picoToUsd(result.chargedPico),
  };
  if (result.failed > 0) logger.error('some stale reservations could not be closed', { sweep: summary });
  if (result.closed > 0) {
    logger.warn('stale reservations closed and charged', { sweep: summary });
    // Each charge reaches finance like any other: CostUSD by cost center, application and model.
    for (const record of result.records) meter(record, metrics, logger);
    const single = metrics.singleMetric();
    single.clearDefaultDimensions();
    single.addMetric('ReservationsSwept', MetricUnit.Count, result.closed);
  }
  await sendAlerts(alerts, result.alerts, logger);
  return summary;
};
