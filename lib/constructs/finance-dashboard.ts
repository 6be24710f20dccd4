import { Duration } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  CfnAlarm,
  ComparisonOperator,
  Dashboard,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambdas/shared/wiring/powertools.ts';
import { errorRateMetric, FIVE_MINUTES, financeRows, HOUR, total } from './finance-widgets.ts';

/** Props of the finance dashboard and its alarms. */
export interface FinanceDashboardProps {
  /** Where the alarms notify. */
  topic: ITopic;
  /** Each configured cost center's alert thresholds (shares of its limit). */
  budgets: Array<{ costCenter: string; alertThresholds: number[] }>;
  /** Alarm when more than this share of requests fail, over 15 minutes. @default 0.05 */
  errorRateThreshold?: number;
  /** The workflow: its timed-out executions, and failed ones the sentry did not meter, alarm. */
  stateMachine: IStateMachine;
  /** The API: its 5xx rate alarms, whoever answered (our templates, Step Functions or the gateway). */
  api: IRestApi & { restApiName: string };
}

/**
 * What finance reads: spend and tokens by cost center, by application and environment, by
 * model; budget utilization; rejections; latency; error rate; Bedrock's own metrics beside ours.
 * And the alarms: budget thresholds per cost center, anomalous total spend, error rate.
 */
export class FinanceDashboard extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Array<Alarm | CfnAlarm> = [];

  constructor(scope: Construct, id: string, props: FinanceDashboardProps) {
    super(scope, id);
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(7) });
    for (const row of financeRows()) this.dashboard.addWidgets(...row);

    const action = new SnsAction(props.topic);
    for (const budget of props.budgets) {
      for (const threshold of budget.alertThresholds) {
        const percent = Math.round(threshold * 100);
        const alarm = new Alarm(this, `Budget-${budget.costCenter}-${percent}`, {
          alarmDescription: `Cost Sentry: cost center ${budget.costCenter} has used ${percent}% of its budget`,
          metric: new Metric({
            namespace: METRICS_NAMESPACE,
            metricName: 'BudgetUtilization',
            dimensionsMap: { CostCenter: budget.costCenter },
            statistic: 'Maximum',
            period: FIVE_MINUTES,
          }),
          threshold: percent,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          // The metric comes only with settled requests: when traffic stops (or every request is
          // refused), the alarm keeps its state instead of going back to OK.
          treatMissingData: TreatMissingData.IGNORE,
        });
        alarm.addAlarmAction(action);
        this.alarms.push(alarm);
      }
    }

    const platform = (id: string, description: string, metric: IMetric, threshold: number, periods = 1) => {
      const alarm = new Alarm(this, id, {
        alarmDescription: `Cost Sentry: ${description}`,
        metric,
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: periods,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    };
    platform(
      'ExecutionsTimedOut',
      'workflow executions ran out of time (AWS/States ExecutionsTimedOut); their reservations wait for the sweeper',
      props.stateMachine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
      1,
    );
    // Every refusal ends in a Fail state too, so failed executions alarm only beyond what the
    // sentry metered as errors: a failure path that itself failed (FailInternal), a crash.
    platform(
      'UnmeteredFailures',
      'workflow executions failed without the sentry metering an error (AWS/States ExecutionsFailed minus Errors)',
      new MathExpression({
        expression: 'FILL(failed, 0) - FILL(metered, 0)',
        usingMetrics: {
          failed: props.stateMachine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum' }),
          metered: total('Errors', 'Sum'),
        },
        label: 'Unmetered failed executions',
        period: FIVE_MINUTES,
      }),
      1,
    );
    platform(
      'Api5xxRate',
      'more than 5% of API requests answered 5xx for 15 minutes (AWS/ApiGateway 5XXError)',
      new MathExpression({
        expression: '100 * FILL(errors, 0)',
        usingMetrics: {
          errors: new Metric({
            namespace: 'AWS/ApiGateway',
            metricName: '5XXError',
            dimensionsMap: { ApiName: props.api.restApiName },
            statistic: 'Average',
            period: FIVE_MINUTES,
          }),
        },
        label: 'API 5xx (%)',
        period: FIVE_MINUTES,
      }),
      (props.errorRateThreshold ?? 0.05) * 100,
      3,
    );

    const errorRate = new Alarm(this, 'ErrorRate', {
      alarmDescription: 'Cost Sentry: more than the allowed share of requests failed (5xx) for 15 minutes',
      metric: errorRateMetric(),
      threshold: (props.errorRateThreshold ?? 0.05) * 100,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    errorRate.addAlarmAction(action);
    this.alarms.push(errorRate);

    // Anomaly detection on total hourly spend: the band is learned from the metric's own history.
    const anomaly = new CfnAlarm(this, 'SpendAnomaly', {
      alarmDescription: 'Cost Sentry: total hourly spend is above its usual band',
      comparisonOperator: 'GreaterThanUpperThreshold',
      evaluationPeriods: 1,
      thresholdMetricId: 'band',
      treatMissingData: 'notBreaching',
      alarmActions: [props.topic.topicArn],
      metrics: [
        {
          id: 'spend',
          returnData: true,
          metricStat: {
            metric: {
              namespace: METRICS_NAMESPACE,
              metricName: 'CostUSD',
              dimensions: [{ name: 'service', value: SERVICE_NAME }],
            },
            period: HOUR.toSeconds(),
            stat: 'Sum',
          },
        },
        { id: 'band', expression: 'ANOMALY_DETECTION_BAND(spend, 3)', returnData: true },
      ],
    });
    this.alarms.push(anomaly);
  }
}
