import { sendAlerts } from '../shared/adapters/alerts.ts';
import { meter } from '../shared/adapters/metering.ts';
import { idempotencyScope } from '../shared/rules/idempotency.ts';
import { logger, metrics } from '../shared/wiring/powertools.ts';
import { settlementDepsFromEnv } from '../shared/wiring/settlement-deps.ts';
import { type FailedState, type Failure, handleFailure } from './core.ts';

const deps = settlementDepsFromEnv();
const { alerts, idempotency } = deps;

/** HandleFailure: the one failure path of the workflow. */
export const handler = async (event: FailedState): Promise<Failure> => {
  const result = await handleFailure(event, deps);
  if (result.record.decision === 'failed') {
    // The error name only (never the Cause: it may quote upstream messages).
    logger.warn('request failed', { requestId: event.requestId, error: event.error.Error });
  }
  meter(result.record, metrics, logger);
  await sendAlerts(alerts, result.alerts, logger);
  if (event.idempotency) {
    // A failed request that was charged (a model timeout) keeps its key, answering a retry with
    // this error: a client that retries is charged once. Any other failed request gives its key
    // back, so the client's retry runs (only this request's claim either way).
    const scope = idempotencyScope(event.callerId);
    const { key } = event.idempotency;
    try {
      if (result.billed) {
        await idempotency.complete(scope, key, event.requestId, result.failure.body, result.failure.code);
      } else {
        await idempotency.release(scope, key, event.requestId);
      }
    } catch (error) {
      logger.error('idempotency claim not settled', { requestId: event.requestId, error });
    }
  }
  return result.failure;
};
