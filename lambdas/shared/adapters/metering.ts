import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { picoToUsd } from '../rules/money.ts';
import type { Usage } from '../rules/pricing.ts';
import type { Tags } from '../rules/types.ts';
import { SERVICE_NAME } from '../wiring/powertools.ts';

/** What one request did, for metrics and the audit log. Never holds prompt or completion text. */
export interface MeterRecord {
  requestId: string;
  timestamp: string;
  /** The API key or IAM principal that called, when known. */
  callerId?: string | undefined;
  /** Tags that passed validation and name a registered cost center; absent otherwise. */
  tags?: Tags | undefined;
  /** `binding` when the request left its tags out and its API key's binding supplied them. */
  tagsFrom?: 'binding' | undefined;
  modelId?: string | undefined;
  decision: 'allowed' | 'rejected' | 'failed';
  errorCode?: string | undefined;
  usage?: Usage | undefined;
  costPico?: bigint | undefined;
  priceVersion?: string | undefined;
  latencyMs: { model?: number | undefined; total: number };
  /** The cost center's budget use after this request (1 = the whole limit). */
  budgetUtilization?: number | undefined;
}

/**
 * Emit the request's metrics as one EMF line with the dimension sets of DESIGN section 5, and
 * write its audit log line. Metering never fails a request that has been served and charged:
 * a failure here is logged, and nothing half-recorded leaks into the next request's metrics.
 */
export function meter(record: MeterRecord, metrics: Metrics, logger: Logger): void {
  try {
    emitMetrics(record, metrics);
  } catch (error) {
    metrics.clearMetrics();
    metrics.clearDimensions();
    logger.error('metrics not emitted', { requestId: record.requestId, error });
  }
  logger.info('audit', { audit: auditOf(record) });
}

function emitMetrics(record: MeterRecord, metrics: Metrics): void {
  if (record.tags) {
    metrics.addDimensions({ CostCenter: record.tags.costCenter });
    metrics.addDimensions({
      CostCenter: record.tags.costCenter,
      ApplicationId: record.tags.applicationId,
      Environment: record.tags.environment,
    });
  }
  if (record.modelId) metrics.addDimensions({ ModelId: record.modelId });
  if (record.errorCode) metrics.addDimensions({ ErrorCode: record.errorCode });
  // The totals: every metric once more under one fixed dimension, for alarms (which cannot SEARCH).
  metrics.addDimensions({ service: SERVICE_NAME });

  if (record.decision === 'allowed') metrics.addMetric('Invocations', MetricUnit.Count, 1);
  if (record.errorCode === 'BUDGET_EXCEEDED') metrics.addMetric('BudgetRejections', MetricUnit.Count, 1);
  if (record.errorCode) metrics.addMetric('Errors', MetricUnit.Count, 1);
  if (record.decision === 'failed') metrics.addMetric('Failures', MetricUnit.Count, 1);
  if (record.usage) {
    metrics.addMetric('InputTokens', MetricUnit.Count, record.usage.inputTokens);
    metrics.addMetric('OutputTokens', MetricUnit.Count, record.usage.outputTokens);
  }
  if (record.costPico !== undefined)
    metrics.addMetric('CostUSD', MetricUnit.NoUnit, picoToUsd(record.costPico));
  if (record.latencyMs.model !== undefined) {
    metrics.addMetric('ModelLatency', MetricUnit.Milliseconds, record.latencyMs.model);
  }
  metrics.publishStoredMetrics();
  if (record.tags && record.budgetUtilization !== undefined) {
    // Its own line: utilization is per cost center, never per application or model.
    const single = metrics.singleMetric();
    single.clearDefaultDimensions();
    single.addDimensions({ CostCenter: record.tags.costCenter });
    single.addMetric(
      'BudgetUtilization',
      MetricUnit.Percent,
      Math.round(record.budgetUtilization * 10_000) / 100,
    );
  }
}

/** The audit line: who, what, how much, and the decision; never prompt or completion text. */
export function auditOf(record: MeterRecord): Record<string, unknown> {
  return {
    requestId: record.requestId,
    timestamp: record.timestamp,
    callerId: record.callerId,
    tags: record.tags,
    ...(record.tagsFrom ? { tagsFrom: record.tagsFrom } : {}),
    modelId: record.modelId,
    decision: record.decision,
    errorCode: record.errorCode,
    usage: record.usage,
    costUsd: record.costPico === undefined ? undefined : picoToUsd(record.costPico),
    priceVersion: record.priceVersion,
    latencyMs: record.latencyMs,
  };
}
