import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export const SERVICE_NAME = 'cost-sentry';
export const METRICS_NAMESPACE = 'CostSentry';

/** One logger per process. It never logs events: they carry prompt and completion text. */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/**
 * One metrics instance per process. Its default `service` dimension is cleared so that the
 * dimension sets are exactly the ones finance's dashboards query (DESIGN section 5).
 */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
metrics.clearDefaultDimensions();
