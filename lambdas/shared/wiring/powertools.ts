import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export const SERVICE_NAME = 'cost-sentry';
export const METRICS_NAMESPACE = 'CostSentry';

/** One logger per process. It never logs events: they carry prompt and completion text. */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/**
 * Powertools Metrics warns whenever two dimension sets share a key. Ours do on purpose
 * ([CostCenter] and [CostCenter, ApplicationId, Environment]), which EMF allows; every other
 * warning still reaches the log.
 */
const metricsLogger = {
  trace: () => {},
  debug: () => {},
  info: (...args: unknown[]) => logger.info(String(args[0]), ...args.slice(1).map((a) => ({ detail: a }))),
  warn: (...args: unknown[]) => {
    if (/^EMF key "[^"]+" is defined as both a dimension set and dimension set/.test(String(args[0]))) return;
    logger.warn(String(args[0]));
  },
  error: (...args: unknown[]) => logger.error(String(args[0])),
};

/**
 * One metrics instance per process. Its default `service` dimension is cleared so that the
 * dimension sets are exactly the ones finance's dashboards query (DESIGN section 5).
 */
export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
  logger: metricsLogger,
});
metrics.clearDefaultDimensions();
