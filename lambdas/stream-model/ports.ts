import type { ConverseInput } from '../invoke-model/core.ts';
import type { BudgetStore } from '../shared/rules/budget.ts';
import type { Catalog } from '../shared/rules/catalog.ts';
import type { IdempotencyStore } from '../shared/rules/idempotency.ts';
import type { CacheHit } from '../shared/rules/response-cache.ts';
import type { Reservation, ValidatedRequest } from '../shared/rules/types.ts';
import type { ConverseStreamEvent } from '../shared/rules/wire/stream.ts';
import type { RequestEnd } from '../shared/wiring/finish-request.ts';

/** What the streaming core talks to: where its answer goes, Bedrock, and the step cores' dependencies. */

/** Where the answer goes: the Lambda's response stream, or the local gateway's response. */
export interface StreamSink {
  /** Send the status and headers; once, before the first write. */
  open(status: number, headers: Record<string, string>): void;
  write(chunk: Uint8Array | string): void;
  end(): void;
  /** False once the client went away: nothing more is written, but the request goes on to its charge. */
  readonly connected: boolean;
}

/** Calls ConverseStream; adapters translate upstream failures, before or during the stream, into our errors. */
export interface StreamingInvoker {
  converseStream(input: ConverseInput): Promise<AsyncIterable<ConverseStreamEvent>>;
}

export interface StreamDeps {
  catalog: Catalog;
  options: { openCallers?: boolean; profiles?: Record<string, Record<string, string>> };
  store: BudgetStore;
  /**
   * ReserveBudget's core with the response cache in front: the request as it must run (the
   * served model, its `max_tokens`) with what it holds, or the cached answer it gets instead.
   */
  reserve: (
    request: ValidatedRequest,
  ) => Promise<
    (ValidatedRequest & { reservation: Reservation }) | (ValidatedRequest & { cacheHit: CacheHit })
  >;
  idempotency: IdempotencyStore;
  invoker: StreamingInvoker;
  now: () => number;
  onError: (what: string, error: unknown) => void;
  /** The tail every request ends with (metrics, audit line, alerts, the Idempotency-Key). */
  finish: (end: RequestEnd) => Promise<void>;
}
