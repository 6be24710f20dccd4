import { Duration } from 'aws-cdk-lib';
import {
  GraphWidget,
  type IMetric,
  type IWidget,
  MathExpression,
  Metric,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambdas/shared/wiring/powertools.ts';

/** The finance dashboard's widgets, row by row, and the metrics they and the alarms read. */

export const HOUR = Duration.hours(1);
export const FIVE_MINUTES = Duration.minutes(5);

/** A SEARCH over our namespace: new tag values appear without a redeploy. */
function search(
  dimensions: string[],
  metric: string,
  stat: string,
  period: Duration,
  label: string,
): IMetric {
  const schema = [METRICS_NAMESPACE, ...dimensions].join(',');
  return new MathExpression({
    expression: `SEARCH('{${schema}} MetricName="${metric}"', '${stat}', ${period.toSeconds()})`,
    usingMetrics: {},
    label,
    period,
  });
}

function bedrockSearch(metric: string, stat: string): IMetric {
  return new MathExpression({
    expression: `SEARCH('{AWS/Bedrock,ModelId} MetricName="${metric}"', '${stat}', ${FIVE_MINUTES.toSeconds()})`,
    usingMetrics: {},
    label: '',
    period: FIVE_MINUTES,
  });
}

/** A metric of the totals (the `service` dimension every request's metrics carry). */
export const total = (metricName: string, statistic: string, period = FIVE_MINUTES) =>
  new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic,
    period,
  });

/**
 * Failures (5xx: our faults and Bedrock's) as a share of all requests, in percent. Refusals a
 * client must act on (4xx, a spent budget) are not failures.
 */
export function errorRateMetric(): IMetric {
  return new MathExpression({
    expression: '100 * FILL(failures, 0) / MAX([FILL(errors, 0) + FILL(invocations, 0), 1])',
    usingMetrics: {
      failures: total('Failures', 'Sum'),
      errors: total('Errors', 'Sum'),
      invocations: total('Invocations', 'Sum'),
    },
    label: 'Error rate (5xx)',
    period: FIVE_MINUTES,
  });
}

/**
 * What finance reads: spend and tokens by cost center, by application and environment, by
 * model; budget utilization; rejections; the cache; latency; error rate; Bedrock's own metrics.
 */
export function financeRows(): IWidget[][] {
  const graph = (title: string, left: IMetric[], unit?: string) =>
    new GraphWidget({
      title,
      left,
      width: 12,
      height: 6,
      ...(unit ? { leftYAxis: { label: unit, showUnits: false } } : {}),
    });
  return [
    [
      new TextWidget({
        markdown:
          '# Cost Sentry\nSpend (CostUSD) and tokens as the sentry metered them, by cost center, application and ' +
          "environment, and model; budget use; rejections; latency; and Bedrock's own metrics per model.",
        width: 24,
        height: 2,
      }),
    ],
    [
      graph(
        'Spend by cost center (USD per hour)',
        [search(['CostCenter'], 'CostUSD', 'Sum', HOUR, '')],
        'USD',
      ),
      graph('Tokens by cost center (per hour)', [
        search(['CostCenter'], 'InputTokens', 'Sum', HOUR, ''),
        search(['CostCenter'], 'OutputTokens', 'Sum', HOUR, ''),
      ]),
    ],
    [
      graph(
        'Spend by application and environment (USD per hour)',
        [search(['CostCenter', 'ApplicationId', 'Environment'], 'CostUSD', 'Sum', HOUR, '')],
        'USD',
      ),
      graph('Spend by model (USD per hour)', [search(['ModelId'], 'CostUSD', 'Sum', HOUR, '')], 'USD'),
    ],
    [
      graph('Tokens by application and environment (per hour)', [
        search(['CostCenter', 'ApplicationId', 'Environment'], 'InputTokens', 'Sum', HOUR, ''),
        search(['CostCenter', 'ApplicationId', 'Environment'], 'OutputTokens', 'Sum', HOUR, ''),
      ]),
      graph('Tokens by model (per hour)', [
        search(['ModelId'], 'InputTokens', 'Sum', HOUR, ''),
        search(['ModelId'], 'OutputTokens', 'Sum', HOUR, ''),
      ]),
    ],
    [
      graph(
        'Budget utilization by cost center (%)',
        [search(['CostCenter'], 'BudgetUtilization', 'Maximum', FIVE_MINUTES, '')],
        '%',
      ),
      graph('Rejections and errors by code', [search(['ErrorCode'], 'Errors', 'Sum', FIVE_MINUTES, '')]),
    ],
    [
      graph('Rate-limited requests by cost center (per 5 min)', [
        search(['CostCenter'], 'RateLimited', 'Sum', FIVE_MINUTES, ''),
      ]),
      graph('Downgraded requests by served model (per 5 min)', [
        search(['ModelId'], 'Downgrades', 'Sum', FIVE_MINUTES, ''),
      ]),
    ],
    [
      graph('Response cache hits by cost center (per hour)', [
        search(['CostCenter'], 'CacheHits', 'Sum', HOUR, ''),
      ]),
      graph('USD saved by the response cache, by cost center (per hour)', [
        search(['CostCenter'], 'SavedUSD', 'Sum', HOUR, ''),
      ]),
    ],
    [
      graph(
        'Model latency p50 and p99 (ms)',
        [
          search(['ModelId'], 'ModelLatency', 'p50', FIVE_MINUTES, ''),
          search(['ModelId'], 'ModelLatency', 'p99', FIVE_MINUTES, ''),
        ],
        'ms',
      ),
      graph('Error rate (%)', [errorRateMetric()], '%'),
    ],
    [
      graph('Bedrock invocations and throttles per model (AWS/Bedrock)', [
        bedrockSearch('Invocations', 'Sum'),
        bedrockSearch('InvocationThrottles', 'Sum'),
      ]),
      graph(
        'Bedrock invocation latency per model (AWS/Bedrock, ms)',
        [bedrockSearch('InvocationLatency', 'Average')],
        'ms',
      ),
    ],
  ];
}
