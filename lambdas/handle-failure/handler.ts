import { failedRequestEnd, finishRequest } from '../shared/wiring/finish-request.ts';
import { logger } from '../shared/wiring/powertools.ts';
import { settlementDepsFromEnv } from '../shared/wiring/settlement-deps.ts';
import { type FailedState, type Failure, handleFailure } from './core.ts';

const deps = settlementDepsFromEnv();

/** HandleFailure: the one failure path of the workflow. */
export const handler = async (event: FailedState): Promise<Failure> => {
  const result = await handleFailure(event, deps);
  if (result.record.decision === 'failed') {
    // The error name only (never the Cause: it may quote upstream messages).
    logger.warn('request failed', { requestId: event.requestId, error: event.error.Error });
  }
  await finishRequest(deps, failedRequestEnd(event, result));
  return result.failure;
};
