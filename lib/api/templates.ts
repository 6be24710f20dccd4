import { ERRORS } from '../../lambdas/shared/rules/errors.ts';
import { converseError } from '../../lambdas/shared/rules/wire/converse.ts';
import { openAiError } from '../../lambdas/shared/rules/wire/openai-answer.ts';
import {
  ENVELOPE_HEADERS,
  envelopeOf,
  type Route,
  type WireError,
} from '../../lambdas/shared/rules/wire/request.ts';

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
export function requestTemplate(
  stateMachineArn: string,
  maxBodyBytes: number,
  route: Route = 'invoke',
): string {
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
  // A client's string (a header, a path parameter), escaped like the body.
  const escaped = (ref: string) =>
    `$util.escapeJavaScript($util.escapeJavaScript(${ref}).replaceAll("\\\\'", "'")).replaceAll("\\\\'", "'")`;
  // The drop-in routes say which wire they speak; the Converse route also names its model in the path.
  const wire =
    route === 'invoke'
      ? ''
      : `\\"route\\":\\"${route}\\",${route === 'converse' ? `\\"modelId\\":\\"${escaped("$input.params('modelId')")}\\",` : ''}`;
  const head = `{\\"requestId\\":\\"$context.requestId\\",\\"receivedAt\\":$context.requestTimeEpoch,\\"caller\\":{${caller}},${wire}`;
  // The Idempotency-Key header, escaped like the body (it is a client's string); omitted when absent.
  const idempotency = `#if($idem.length() > 0)\\"idempotencyKey\\":\\"${escaped('$idem')}\\",#end`;
  // Cache-Control: no-cache (or no-store), in any case, skips the response cache for this request.
  // Only replaceAll and length(): they read the same in Velocity (Java) and in velocityjs.
  const noCache =
    '#if($cc.replaceAll("[Nn][Oo]-([Cc][Aa][Cc][Hh][Ee]|[Ss][Tt][Oo][Rr][Ee])", "").length() < $cc.length())\\"noCache\\":true,#end';
  return [
    `#set($escaped = $util.escapeJavaScript($input.body).replaceAll("\\\\'", "'"))`,
    `#set($idem = $input.params('Idempotency-Key'))`,
    `#set($cc = $input.params('Cache-Control'))`,
    `{"stateMachineArn":"${stateMachineArn}","name":"$context.requestId",`,
    `#if($input.body.length() > ${maxBodyBytes} || $escaped.length() > ${MAX_ESCAPED_BODY})`,
    `"input":"${head}\\"bodyTooLarge\\":true}"}`,
    '#else',
    `"input":"${head}${idempotency}${noCache}\\"body\\":\\"$util.escapeJavaScript($escaped).replaceAll("\\\\'", "'")\\"}"}`,
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

/** What a drop-in route answers when the execution failed outside the failure handler, or timed out. */
export const WIRE_FALLBACKS: Record<
  Exclude<Route, 'invoke'>,
  (code: 'INTERNAL_ERROR' | 'MODEL_TIMEOUT') => WireError
> = {
  converse: (code) =>
    converseError(
      code,
      {
        message:
          code === 'MODEL_TIMEOUT' ? 'The request did not complete in time.' : ERRORS.InternalError.message,
      },
      '$context.requestId',
    ),
  openai: (code) =>
    openAiError(
      code,
      {
        message:
          code === 'MODEL_TIMEOUT' ? 'The request did not complete in time.' : ERRORS.InternalError.message,
      },
      '$context.requestId',
    ),
};

/**
 * The response template of a drop-in route. The last step (or the failure handler) answers an
 * envelope: the body in the client's wire format as text, its status, and the values of the
 * headers to set. Anything else (a failure outside the failure handler, TIMED_OUT) answers the
 * wire's own internal error or timeout.
 */
export function dropInResponseTemplate(route: Exclude<Route, 'invoke'>): string {
  const headers = (ref: string) =>
    Object.entries(ENVELOPE_HEADERS).map(
      ([field, header]) =>
        `#if($${ref}.${field})#set($context.responseOverride.header.${header} = "$${ref}.${field}")#end`,
    );
  const fixed = (error: WireError) => {
    const envelope = envelopeOf(error);
    return [
      `#set($context.responseOverride.status = ${envelope.status})`,
      ...Object.entries(ENVELOPE_HEADERS).flatMap(([field, header]) => {
        const value = envelope[field as keyof typeof ENVELOPE_HEADERS];
        return value === undefined ? [] : [`#set($context.responseOverride.header.${header} = "${value}")`];
      }),
      envelope.body,
    ];
  };
  const ours = CATALOG_CODES.filter(([code]) => code !== INTERNAL.code)
    .map(([code]) => `$code == "${code}"`)
    .join(' || ');
  return [
    "#set($status = $input.path('$.status'))",
    '#if($status == "SUCCEEDED")',
    "#set($out = $util.parseJson($input.path('$.output')))",
    ...headers('out'),
    '$out.body',
    '#elseif($status == "FAILED")',
    "#set($code = $input.path('$.error'))",
    `#if(${ours})`,
    "#set($cause = $util.parseJson($input.path('$.cause')))",
    '#set($context.responseOverride.status = $cause.status)',
    ...headers('cause'),
    '$cause.body',
    '#else',
    ...fixed(WIRE_FALLBACKS[route]('INTERNAL_ERROR')),
    '#end',
    '#else',
    ...fixed(WIRE_FALLBACKS[route]('MODEL_TIMEOUT')),
    '#end',
  ].join('\n');
}
