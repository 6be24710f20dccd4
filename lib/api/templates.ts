import { ERRORS } from '../../lambdas/shared/rules/errors.ts';

/**
 * API Gateway mapping templates for POST /v1/invoke. The stack deploys them and the local
 * gateway renders the very same text with velocityjs, so the two cannot drift apart.
 */

/** Error codes whose body the state machine's Fail state carries (every code the catalog has). */
const CATALOG_CODES = [...new Map(Object.values(ERRORS).map((e) => [e.code, e.status])).entries()];

const INTERNAL = ERRORS.InternalError;
const TIMEOUT = ERRORS.ModelTimeoutError;

/**
 * The most an escaped body may take of the execution input: Step Functions accepts 262,144
 * bytes, and the envelope around the body is far below the difference.
 */
export const MAX_ESCAPED_BODY = 250_000;

/**
 * The request template: StartSyncExecution with the raw body embedded as a JSON string. The body
 * is escaped twice (once inside the execution input, once for the `input` string itself); Java's
 * escapeJavaScript also escapes `'`, which JSON does not allow, hence each replaceAll. A body over
 * the limit (counted in characters), or one whose escaped form would not fit the Step Functions
 * payload, is not embedded at all: ValidateRequest answers PAYLOAD_TOO_LARGE.
 */
export function requestTemplate(stateMachineArn: string, maxBodyBytes: number): string {
  // JSON goes in plain template text, never inside a Velocity string literal: Velocity keeps a
  // backslash before a quote in a literal, where velocityjs would drop it.
  const field = (name: string, ref: string) => `\\"${name}\\":\\"$!{${ref}}\\"`;
  // Who called: the IAM principal (SigV4), or the API key and its binding (the authorizer's context).
  const caller = [
    field('principal', 'context.identity.userArn'),
    field('keyId', 'context.authorizer.keyId'),
    field('costCenters', 'context.authorizer.costCenters'),
    field('applicationIds', 'context.authorizer.applicationIds'),
    field('environments', 'context.authorizer.environments'),
  ].join(',');
  const head = `{\\"requestId\\":\\"$context.requestId\\",\\"receivedAt\\":$context.requestTimeEpoch,\\"caller\\":{${caller}},`;
  // The Idempotency-Key header, escaped like the body (it is a client's string); omitted when absent.
  const idempotency = `#if($idem.length() > 0)\\"idempotencyKey\\":\\"$util.escapeJavaScript($util.escapeJavaScript($idem).replaceAll("\\\\'", "'")).replaceAll("\\\\'", "'")\\",#end`;
  return [
    `#set($escaped = $util.escapeJavaScript($input.body).replaceAll("\\\\'", "'"))`,
    `#set($idem = $input.params('Idempotency-Key'))`,
    `{"stateMachineArn":"${stateMachineArn}","name":"$context.requestId",`,
    `#if($input.body.length() > ${maxBodyBytes} || $escaped.length() > ${MAX_ESCAPED_BODY})`,
    `"input":"${head}\\"bodyTooLarge\\":true}"}`,
    '#else',
    `"input":"${head}${idempotency}\\"body\\":\\"$util.escapeJavaScript($escaped).replaceAll("\\\\'", "'")\\"}"}`,
    '#end',
  ].join('\n');
}

/**
 * The response template of the StartSyncExecution integration. SUCCEEDED: the output is the
 * body. FAILED with one of our codes: the Fail state's Cause is the public error body. Anything
 * else (an unknown error, TIMED_OUT) never comes back as 200 and never shows the Cause.
 */
export function responseTemplate(): string {
  const branches = CATALOG_CODES.filter(([code]) => code !== INTERNAL.code).map(([code, status], i) =>
    [
      `${i === 0 ? '#if' : '#elseif'}($code == "${code}")`,
      `#set($context.responseOverride.status = ${status})`,
      ...(status === 429 || status === 503
        ? [
            "#set($cause = $util.parseJson($input.path('$.cause')))",
            '#if($cause.error.retryAfterSeconds)',
            '#set($context.responseOverride.header.Retry-After = "$cause.error.retryAfterSeconds")',
            '#end',
          ]
        : []),
      "$input.path('$.cause')",
    ].join('\n'),
  );
  return [
    "#set($status = $input.path('$.status'))",
    '#if($status == "SUCCEEDED")',
    "$input.path('$.output')",
    '#elseif($status == "FAILED")',
    "#set($code = $input.path('$.error'))",
    ...branches,
    '#else',
    `#set($context.responseOverride.status = ${INTERNAL.status})`,
    fixedBody(INTERNAL.code, INTERNAL.message),
    '#end',
    '#else',
    `#set($context.responseOverride.status = ${TIMEOUT.status})`,
    fixedBody(TIMEOUT.code, 'The request did not complete in time.'),
    '#end',
  ].join('\n');
}

/** A fixed error body with the request ID filled in by API Gateway. */
export function fixedBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message, requestId: '$context.requestId' } });
}

/** Every HTTP status the invoke route can answer with. */
export const INVOKE_STATUSES = [200, ...new Set(CATALOG_CODES.map(([, status]) => status))].sort(
  (a, b) => a - b,
);
