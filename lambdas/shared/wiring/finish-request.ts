import { type AlertSink, sendAlerts } from '../adapters/alerts.ts';
import { type MeterRecord, meter } from '../adapters/metering.ts';
import type { BudgetAlert } from '../rules/budget-alerts.ts';
import { type IdempotencyStore, idempotencyScope } from '../rules/idempotency.ts';
import { logger, metrics } from './powertools.ts';

/** What a request ends with, whichever way it ended (SettleUsage or HandleFailure). */
export interface RequestEnd {
  requestId: string;
  callerId?: string | undefined;
  /** The request's Idempotency-Key, when the client sent one. */
  idempotency?: { key: string } | undefined;
  /** The metrics and audit line; absent when this call charged nothing new (a repeated settle). */
  record?: MeterRecord | undefined;
  /** Alert thresholds this request's charge crossed, each already claimed once per period. */
  alerts: BudgetAlert[];
  /**
   * The answer the Idempotency-Key keeps and replays to a retry: a response body, or an error
   * body with its code. Absent: the key is given back, so the client's retry runs.
   */
  keep?: { body: string; errorCode?: string | undefined } | undefined;
}

/**
 * How a failed request ends, once the failure handler's core has run: its metrics and audit
 * line, its alerts, and its Idempotency-Key. A failed request that was charged (a model timeout)
 * keeps its key, answering a retry with this error: a client that retries is charged once. Any
 * other gives its key back.
 */
export function failedRequestEnd(
  request: Pick<RequestEnd, 'requestId' | 'callerId' | 'idempotency'>,
  result: {
    record: MeterRecord;
    alerts: BudgetAlert[];
    billed: boolean;
    failure: { code: string; body: string };
  },
): RequestEnd {
  return {
    requestId: request.requestId,
    callerId: request.callerId,
    idempotency: request.idempotency,
    record: result.record,
    alerts: result.alerts,
    keep: result.billed ? { body: result.failure.body, errorCode: result.failure.code } : undefined,
  };
}

/**
 * The tail both ends of a request share: meter it, send its budget alerts, then record its
 * answer under its Idempotency-Key or give the key back (only this request's claim either way).
 * None of it fails the request: it was served or refused, and charged, already.
 */
export async function finishRequest(
  deps: { alerts: AlertSink; idempotency: IdempotencyStore },
  end: RequestEnd,
): Promise<void> {
  if (end.record) meter(end.record, metrics, logger);
  await sendAlerts(deps.alerts, end.alerts, logger);
  if (!end.idempotency) return;
  const scope = idempotencyScope(end.callerId);
  const { key } = end.idempotency;
  try {
    if (end.keep) {
      await deps.idempotency.complete(scope, key, end.requestId, end.keep.body, end.keep.errorCode);
    } else {
      await deps.idempotency.release(scope, key, end.requestId);
    }
  } catch (error) {
    // A key left claimed answers retries with IDEMPOTENCY_IN_PROGRESS until it goes stale.
    logger.error('idempotency claim not settled', { requestId: end.requestId, error });
  }
}
