import { ERRORS } from '../lambdas/shared/rules/errors.ts';
import type { Route } from '../lambdas/shared/rules/wire/request.ts';
import {
  dropInResponseTemplate,
  fixedBody,
  requestTemplate,
  responseTemplate,
} from '../lib/api/templates.ts';
import { renderTemplate } from './vtl.ts';
import type { LocalWorkflow, SyncExecutionResult } from './workflow.ts';

/** The state machine ARN the local request template names (the local runner has only one). */
export const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:cost-sentry';

const built = new Map<string, { request: string; response: string }>();

/** The deployed templates of a route, built once per body limit. */
function templates(maxBodyBytes: number, route: Route): { request: string; response: string } {
  const key = `${route}/${maxBodyBytes}`;
  let pair = built.get(key);
  if (!pair) {
    pair = {
      request: requestTemplate(LOCAL_STATE_MACHINE_ARN, maxBodyBytes, route),
      response: route === 'invoke' ? responseTemplate() : dropInResponseTemplate(route),
    };
    built.set(key, pair);
  }
  return pair;
}

export interface InvokeRouteRequest {
  body: string;
  requestId: string;
  /** Epoch milliseconds, as `$context.requestTimeEpoch`. */
  requestTimeEpoch: number;
  /** The authorizer's context (API-key mode). */
  authorizer?: Record<string, string> | undefined;
  /** The request's headers, as `$input.params()` reads them. */
  headers?: Record<string, string> | undefined;
  /** The route's path parameters, decoded. */
  pathParameters?: Record<string, string> | undefined;
}

export interface RouteResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A workflow route (POST /v1/invoke, /model/{modelId}/converse, /v1/chat/completions) as API
 * Gateway runs it: render the route's deployed request template, start the execution, render its
 * deployed response template over StartSyncExecution's answer.
 */
export async function invokeRoute(
  workflow: LocalWorkflow,
  request: InvokeRouteRequest,
  maxBodyBytes: number,
  route: Route = 'invoke',
): Promise<RouteResponse> {
  const headers = { 'content-type': 'application/json', 'x-request-id': request.requestId };
  let result: SyncExecutionResult;
  try {
    const integration = renderTemplate(templates(maxBodyBytes, route).request, request);
    const start = JSON.parse(integration.body) as { input: string };
    result = await workflow.run(JSON.parse(start.input));
  } catch {
    // What API Gateway does when Step Functions refuses the call: the integration's 5XX mapping.
    const body = renderTemplate(
      fixedBody(ERRORS.InternalError.code, ERRORS.InternalError.message),
      request,
    ).body;
    return { status: ERRORS.InternalError.status, headers, body };
  }
  const response = renderTemplate(templates(maxBodyBytes, route).response, {
    ...request,
    body: JSON.stringify(result),
  });
  return {
    status: response.status ?? 200,
    headers: { ...headers, ...response.headers },
    body: response.body.trim(),
  };
}
