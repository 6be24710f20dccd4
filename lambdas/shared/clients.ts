import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type AlertSink, LogAlertSink } from './alerts.ts';
import { DynamoBudgetStore } from './budget-store.ts';
import { alertTopicArnFromEnv, tableNameFromEnv } from './env.ts';
import { logger } from './powertools.ts';
import { SnsAlertSink } from './sns-alert-sink.ts';

let store: DynamoBudgetStore | undefined;

/** The budget store, built once per process. The endpoint follows AWS_ENDPOINT_URL_DYNAMODB when set. */
export function budgetStoreFromEnv(): DynamoBudgetStore {
  store ??= new DynamoBudgetStore(new DynamoDBClient({}), tableNameFromEnv());
  return store;
}

/** SNS when the stack gave a topic, else the log. */
export function alertSinkFromEnv(): AlertSink {
  const topicArn = alertTopicArnFromEnv();
  return topicArn ? new SnsAlertSink(topicArn, logger) : new LogAlertSink(logger);
}
