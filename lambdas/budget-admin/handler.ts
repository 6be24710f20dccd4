import { ERRORS, type ErrorCode, errorBody, SentryError, statusOf } from '../shared/rules/errors.ts';
import { budgetStoreFromEnv, keyStoreFromEnv } from '../shared/wiring/clients.ts';
import { adviceFromEnv, catalogFromEnv } from '../shared/wiring/env.ts';
import { logger } from '../shared/wiring/powertools.ts';
import { type AdminResponse, handleAdmin } from './core.ts';

/** The fields of API Gateway's (REST, proxy integration) event that the admin API reads. */
export interface ProxyEvent {
  httpMethod: string;
  path: string;
  body: string | null;
  queryStringParameters: Record<string, string | undefined> | null;
  requestContext: { requestId: string; identity?: { userArn?: string | null } };
}

export interface ProxyResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const deps = {
  store: budgetStoreFromEnv(),
  keys: keyStoreFromEnv(),
  now: () => new Date(),
  catalog: catalogFromEnv(),
  advice: adviceFromEnv(),
};

/** The admin API for platform teams: budgets, usage and API keys. IAM-authorized on AWS. */
export const handler = async (event: ProxyEvent): Promise<ProxyResult> => {
  const requestId = event.requestContext.requestId;
  const headers = { 'content-type': 'application/json', 'x-request-id': requestId };
  let response: AdminResponse;
  try {
    response = await handleAdmin(
      {
        method: event.httpMethod,
        path: event.path,
        body: event.body,
        query: event.queryStringParameters ?? {},
      },
      deps,
    );
  } catch (error) {
    const known = error instanceof SentryError;
    if (!known) logger.error('admin request failed', { requestId, error });
    const code: ErrorCode = known ? error.code : ERRORS.InternalError.code;
    const fields = known ? error.fields : { message: ERRORS.InternalError.message };
    response = { status: statusOf(code), body: errorBody(code, requestId, fields) };
  }
  logger.info('admin', {
    admin: {
      requestId,
      caller: event.requestContext.identity?.userArn ?? null,
      method: event.httpMethod,
      path: event.path,
      status: response.status,
    },
  });
  return {
    statusCode: response.status,
    headers,
    body: response.body === undefined ? '' : JSON.stringify(response.body),
  };
};
