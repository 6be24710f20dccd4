/**
 * How long after the gateway received a request the model may still be called. The state
 * machine times out at 27 s and cannot release a reservation once it has; keeping every Bedrock
 * attempt (retries included) inside this budget leaves SettleUsage or HandleFailure 3 s to
 * run, so an execution always ends through its own failure path.
 */
export const MODEL_DEADLINE_MS = 24_000;

/** A Bedrock call is not started with less time than this left. */
export const MIN_MODEL_CALL_MS = 1_000;

/** Milliseconds the next Bedrock attempt may take: its own timeout, cut to what the deadline leaves. */
export function attemptTimeoutMs(receivedAt: number, now: number, clientTimeoutMs: number): number {
  return Math.min(clientTimeoutMs, receivedAt + MODEL_DEADLINE_MS - now);
}
