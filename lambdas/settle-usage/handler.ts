import type { CacheHit } from '../shared/rules/response-cache.ts';
import type { Invocation, Reservation, WorkflowState } from '../shared/rules/types.ts';
import type { WireEnvelope } from '../shared/rules/wire/request.ts';
import { finishRequest } from '../shared/wiring/finish-request.ts';
import { settlementDepsFromEnv } from '../shared/wiring/settlement-deps.ts';
import { answerFromCache } from './cache-hit.ts';
import { type InvokeResponse, settleUsage } from './core.ts';

type CachedState = WorkflowState & { cacheHit: CacheHit };
const isCacheHit = (event: WorkflowState): event is CachedState => event.cacheHit !== undefined;

const deps = settlementDepsFromEnv();

/**
 * SettleUsage: charge the real usage, meter it, send any budget alert, and return the response
 * body; or, on a response cache hit, answer the stored response, charged nothing.
 */
export const handler = async (
  event: (WorkflowState & { reservation: Reservation; invocation: Invocation }) | CachedState,
): Promise<InvokeResponse | WireEnvelope> => {
  if (isCacheHit(event)) {
    // Nothing was reserved and nothing is charged: no alert can be crossed.
    const hit = await answerFromCache(event, deps);
    await finishRequest(deps, {
      requestId: event.requestId,
      callerId: event.callerId,
      idempotency: event.idempotency,
      record: hit.record,
      alerts: [],
      keep: { body: JSON.stringify(hit.response) },
    });
    return hit.response;
  }
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
