import { sendAlerts } from '../shared/adapters/alerts.ts';
import { meter } from '../shared/adapters/metering.ts';
import { idempotencyScope } from '../shared/rules/idempotency.ts';
import type { Invocation, Reservation, WorkflowState } from '../shared/rules/types.ts';
import { logger, metrics } from '../shared/wiring/powertools.ts';
import { settlementDepsFromEnv } from '../shared/wiring/settlement-deps.ts';
import { type InvokeResponse, settleUsage } from './core.ts';

const deps = settlementDepsFromEnv();
const { alerts, idempotency } = deps;

/** SettleUsage: charge the real usage, meter it, send any budget alert, and return the response body. */
export const handler = async (
  event: WorkflowState & { reservation: Reservation; invocation: Invocation },
): Promise<InvokeResponse> => {
  const result = await settleUsage(event, deps);
  // A retried settle (its first answer lost) charged nothing more, so it meters nothing more.
  if (result.settled) meter(result.record, metrics, logger);
  await sendAlerts(alerts, result.alerts, logger);
  if (event.idempotency) {
    try {
      await idempotency.complete(
        idempotencyScope(event.callerId),
        event.idempotency.key,
        event.requestId,
        JSON.stringify(result.response),
      );
    } catch (error) {
      // The request was served and charged; a retry with the key finds it in progress until it goes stale.
      logger.error('idempotent response not recorded', { requestId: event.requestId, error });
    }
  }
  return result.response;
};
