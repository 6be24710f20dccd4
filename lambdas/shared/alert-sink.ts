import { type AlertSink, LogAlertSink } from './alerts.ts';
import { alertTopicArnFromEnv } from './env.ts';
import { logger } from './powertools.ts';
import { SnsAlertSink } from './sns-alert-sink.ts';

/** SNS when the stack gave a topic, else the log. */
export function alertSinkFromEnv(): AlertSink {
  const topicArn = alertTopicArnFromEnv();
  return topicArn ? new SnsAlertSink(topicArn, logger) : new LogAlertSink(logger);
}
