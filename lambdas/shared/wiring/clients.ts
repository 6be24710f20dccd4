import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoBudgetStore } from '../adapters/budget-store.ts';
import { DynamoIdempotencyStore } from '../adapters/idempotency-store.ts';
import { DynamoKeyStore } from '../adapters/key-store.ts';
import { tableNameFromEnv } from './env.ts';

let client: DynamoDBClient | undefined;
const dynamo = () => {
  client ??= new DynamoDBClient({});
  return client;
};

/** The budget store, built once per process. The endpoint follows AWS_ENDPOINT_URL_DYNAMODB when set. */
export function budgetStoreFromEnv(): DynamoBudgetStore {
  return new DynamoBudgetStore(dynamo(), tableNameFromEnv());
}

/** The Idempotency-Key store, in the same table. */
export function idempotencyStoreFromEnv(): DynamoIdempotencyStore {
  return new DynamoIdempotencyStore(dynamo(), tableNameFromEnv());
}

/** The API key store, in the same table. */
export function keyStoreFromEnv(): DynamoKeyStore {
  return new DynamoKeyStore(dynamo(), tableNameFromEnv());
}
