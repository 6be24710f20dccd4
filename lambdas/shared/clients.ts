import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoBudgetStore } from './budget-store.ts';
import { tableNameFromEnv } from './env.ts';

let store: DynamoBudgetStore | undefined;

/** The budget store, built once per process. The endpoint follows AWS_ENDPOINT_URL_DYNAMODB when set. */
export function budgetStoreFromEnv(): DynamoBudgetStore {
  store ??= new DynamoBudgetStore(new DynamoDBClient({}), tableNameFromEnv());
  return store;
}
