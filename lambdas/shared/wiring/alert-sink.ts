import { type AlertSink, LogAlertSink } from '../adapters/alerts.ts';
import { SnsAlertSink } from '../adapters/sns-alert-sink.ts';
import { alertTopicArnFromEnv } from './env.ts';
import { logger } from './powertools.ts';

/** SNS when the stack gave a topic, else the log. */
export function alertSinkFromEnv(): AlertSink {
  const topicArn = alertTopicArnFromEnv();
  return topicArn ? new SnsAlertSink(topicArn, logger) : new LogAlertSink(logger);
}
