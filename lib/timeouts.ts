/**
 * Timeouts nest, innermost first (DESIGN section 1): the Bedrock client gives up before the
 * InvokeModel Lambda does, which stops before its state's TimeoutSeconds, which is below the
 * state machine's TimeoutSeconds, which is below API Gateway's 29 s integration timeout.
 * The state machine values live in the ASL file; a test holds the two together.
 */
export const BEDROCK_TIMEOUT_MS = 18_000;

/** Lambda timeouts in seconds, by function folder. */
export const LAMBDA_TIMEOUTS = {
  'validate-request': 4,
  'claim-idempotency-key': 4,
  'reserve-budget': 4,
  'invoke-model': 20,
  'settle-usage': 4,
  'handle-failure': 4,
  /** The admin API: behind API Gateway's 29 s, not the state machine. */
  'budget-admin': 10,
  /** The API-key authorizer, in front of POST /v1/invoke. */
  'authorize-key': 5,
  /** The reservation sweeper, on a schedule. */
  'sweep-reservations': 60,
  /**
   * The streaming Lambda: Bedrock's stream ends by STREAM_DEADLINE_MS (100 s after the request
   * came), then the settle; below its integration timeout.
   */
  'stream-model': 110,
} as const;

export const API_INTEGRATION_TIMEOUT_SECONDS = 29;

/**
 * The streaming routes' integration timeout (response streaming allows up to 15 minutes), above
 * the streaming Lambda's timeout and below the sweeper's 120 s: a stream always settles its own
 * reservation before the sweeper would close it.
 */
export const STREAM_INTEGRATION_TIMEOUT_SECONDS = 115;
