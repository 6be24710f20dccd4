import type { Logger } from '@aws-lambda-powertools/logger';
import type { BudgetAlert } from '../rules/budget-alerts.ts';

/** Where budget alerts go: SNS on AWS, the log (and so the terminal) in the local stack. */
export interface AlertSink {
  send(alert: BudgetAlert): Promise<void>;
}

/** A human summary of an alert, for email subjects and the terminal. */
export function alertSummary(alert: BudgetAlert): string {
  const who = alert.applicationId ? `${alert.costCenter}/${alert.applicationId}` : alert.costCenter;
  return `Cost Sentry: ${who} crossed ${Math.round(alert.threshold * 100)}% of its ${alert.period} budget (${alert.periodKey})`;
}

/** Writes every alert to the log; the other sinks do this too, so the log is the complete record. */
export class LogAlertSink implements AlertSink {
  readonly #logger: Logger;
  constructor(logger: Logger) {
    this.#logger = logger;
  }
  async send(alert: BudgetAlert): Promise<void> {
    this.#logger.warn(alertSummary(alert), { budgetAlert: alert });
  }
}

/** Send an alert; a failure to deliver is logged, never thrown (the request was served). */
export async function sendAlerts(sink: AlertSink, alerts: BudgetAlert[], logger: Logger): Promise<void> {
  for (const alert of alerts) {
    try {
      await sink.send(alert);
    } catch (error) {
      logger.error('budget alert not delivered', { budgetAlert: alert, error });
    }
  }
}
