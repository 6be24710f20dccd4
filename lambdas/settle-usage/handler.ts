import type { Invocation, Reservation, WorkflowState } from '../shared/rules/types.ts';
import type { WireEnvelope } from '../shared/rules/wire/request.ts';
import { finishRequest } from '../shared/wiring/finish-request.ts';
import { settlementDepsFromEnv } from '../shared/wiring/settlement-deps.ts';
import { type InvokeResponse, settleUsage } from './core.ts';

const deps = settlementDepsFromEnv();

/** SettleUsage: charge the real usage, meter it, send any budget alert, and return the response body. */
export const handler = async (
  event: WorkflowState & { reservation: Reservation; invocation: Invocation },
): Promise<InvokeResponse | WireEnvelope> => {
  const result = await settleUsage(event, deps);
  await finishRequest(deps, {
    requestId: event.requestId,
    callerId: event.callerId,
    idempotency: event.idempotency,
    // A retried settle (its first answer lost) charged nothing more, so it meters nothing more.
    record: result.settled ? result.record : undefined,
    alerts: result.alerts,
    keep: { body: JSON.stringify(result.response) },
  });
  return result.response;
};
