import { alertSinkFromEnv } from './alert-sink.ts';
import { budgetStoreFromEnv, idempotencyStoreFromEnv } from './clients.ts';
import { catalogFromEnv } from './env.ts';
import { logger } from './powertools.ts';

/**
 * What the two functions that end a request (SettleUsage, HandleFailure) are built with,
 * once per process: the budget store, the catalog, the alert sink and the idempotency store.
 */
export function settlementDepsFromEnv() {
  return {
    store: budgetStoreFromEnv(),
    catalog: catalogFromEnv(),
    now: () => Date.now(),
    onError: (what: string, error: unknown) => logger.error(what, { error }),
    alerts: alertSinkFromEnv(),
    idempotency: idempotencyStoreFromEnv(),
  };
}
