import type { Logger } from '@aws-lambda-powertools/logger';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { BudgetAlert } from '../rules/budget-alerts.ts';
import { type AlertSink, alertSummary, LogAlertSink } from './alerts.ts';

/** Publishes alerts to the stack's SNS topic (email subscriptions come from the config), and logs them. */
export class SnsAlertSink implements AlertSink {
  readonly #client: SNSClient;
  readonly #topicArn: string;
  readonly #log: LogAlertSink;

  constructor(topicArn: string, logger: Logger, client = new SNSClient({})) {
    this.#client = client;
    this.#topicArn = topicArn;
    this.#log = new LogAlertSink(logger);
  }

  async send(alert: BudgetAlert): Promise<void> {
    await this.#log.send(alert);
    await this.#client.send(
      new PublishCommand({
        TopicArn: this.#topicArn,
        Subject: alertSummary(alert).slice(0, 100),
        Message: JSON.stringify(alert, null, 2),
      }),
    );
  }
}
