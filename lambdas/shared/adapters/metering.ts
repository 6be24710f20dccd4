import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { picoToUsd } from '../rules/money.ts';
import type { Usage } from '../rules/pricing.ts';
import type { Tags } from '../rules/types.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../wiring/powertools.ts';

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
  /** A budget policy served a cheaper model (`modelId` is the served one). */
  routing?: { requested: string; served: string } | undefined;
  /** Answered from the response cache: charged nothing; `savedPico` is what the call would have cost. */
  cache?: { hit: true; savedPico: bigint } | undefined;
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
  if (record.errorCode === 'RATE_LIMITED') metrics.addMetric('RateLimited', MetricUnit.Count, 1);
  if (record.routing) metrics.addMetric('Downgrades', MetricUnit.Count, 1);
  if (record.cache) {
    metrics.addMetric('CacheHits', MetricUnit.Count, 1);
    metrics.addMetric('SavedUSD', MetricUnit.NoUnit, picoToUsd(record.cache.savedPico));
  }
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
  const line = metrics.serializeMetrics() as unknown as EmfLine;
  metrics.clearMetrics();
  metrics.clearDimensions();
  if (record.tags && record.budgetUtilization !== undefined) {
    // A second directive in the same line (EMF allows several): utilization is per cost center
    // only, never per application or model, and a line of its own would cost ~220 more bytes.
    line._aws.CloudWatchMetrics.push({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [['CostCenter']],
      Metrics: [{ Name: 'BudgetUtilization', Unit: MetricUnit.Percent }],
    });
    line.BudgetUtilization = Math.round(record.budgetUtilization * 10_000) / 100;
  }
  // Straight to stdout, as Powertools writes EMF, so Lambda's JSON log format leaves it as is.
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

interface EmfLine {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: unknown[] }> };
  [key: string]: unknown;
}

/**
 * The audit line: who, what, how much, and the decision; never prompt or completion text. Fields
 * a request does not have are left out, as are zero cache token counts and the total (input plus
 * output), so a success writes about 400 bytes.
 */
export function auditOf(record: MeterRecord): Record<string, unknown> {
  const usage = record.usage && {
    inputTokens: record.usage.inputTokens,
    outputTokens: record.usage.outputTokens,
    ...(record.usage.cacheReadInputTokens ? { cacheReadInputTokens: record.usage.cacheReadInputTokens } : {}),
    ...(record.usage.cacheWriteInputTokens
      ? { cacheWriteInputTokens: record.usage.cacheWriteInputTokens }
      : {}),
  };
  const audit: Record<string, unknown> = {
    requestId: record.requestId,
    timestamp: record.timestamp,
    callerId: record.callerId,
    tags: record.tags,
    tagsFrom: record.tagsFrom,
    modelId: record.modelId,
    routing: record.routing,
    cache: record.cache && { hit: true, savedUsd: picoToUsd(record.cache.savedPico) },
    decision: record.decision,
    errorCode: record.errorCode,
    usage,
    costUsd: record.costPico === undefined ? undefined : picoToUsd(record.costPico),
    priceVersion: record.priceVersion,
    latencyMs: record.latencyMs,
  };
  return Object.fromEntries(Object.entries(audit).filter(([, value]) => value !== undefined));
}
