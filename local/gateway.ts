import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { AuthorizerEvent, AuthorizerResult } from '../lambdas/authorize-key/core.ts';
import { ADMIN_ROUTES } from '../lambdas/budget-admin/core.ts';
import type { ProxyEvent, ProxyResult } from '../lambdas/budget-admin/handler.ts';
import { ERRORS } from '../lambdas/shared/rules/errors.ts';
import {
  GATEWAY_ERRORS,
  GATEWAY_MAX_REQUEST_BYTES,
  gatewayErrorHeaders,
  INVOKE_METHOD,
  STREAM_ROUTES,
  WIRE_ROUTES,
} from '../lib/api/gateway-responses.ts';
import { OPENAPI_PATH } from '../lib/api/openapi.ts';
import { matchesInvokeModel } from '../lib/api/request-model.ts';
import { dualProtocolServer } from './dual-server.ts';
import {
  answerMalformedRequests,
  bearerMatches,
  flatHeaders,
  gatewayErrorBody,
  withoutHopByHop,
} from './gateway-http.ts';
import { invokeRoute, type RouteResponse } from './invoke-route.ts';
import { DASHBOARD_PATH, dashboard, openApi } from './pages.ts';
import { responseSink, streamRoute } from './stream-route.ts';
import { renderTemplate } from './vtl.ts';
import type { LocalWorkflow } from './workflow.ts';

export interface GatewayOptions {
  workflow: LocalWorkflow;
  /** The admin API handler (the Lambda's, called as API Gateway's proxy integration would). */
  admin: (event: ProxyEvent) => Promise<ProxyResult>;
  /** When set, the admin routes need `Authorization: Bearer <token>`. */
  adminToken?: string | undefined;
  /** When set, POST /v1/invoke needs an API key, checked by this (the Lambda authorizer's) handler. */
  authorizer?: ((event: AuthorizerEvent) => Promise<AuthorizerResult>) | undefined;
  maxBodyBytes: number;
  /** The catalog's message limits, which the OpenAPI document states. */
  limits: { maxMessages: number; maxContentChars: number };
  port: number;
  /** Loopback only: the local stack has no authentication. */
  host?: '127.0.0.1';
}

export interface LocalGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i;

/** Bodies are decoded strictly: invalid bytes are refused, never silently replaced and then charged. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const INVALID_UTF8 = { ...ERRORS.InvalidRequestError, message: 'The request body is not valid UTF-8.' };

/**
 * The local stand-in for the deployed API Gateway: the same route, the same mapping templates,
 * the same gateway errors (404, 405, 413, 415), `x-request-id` on every response.
 */
export async function startGateway(options: GatewayOptions): Promise<LocalGateway> {
  const handle = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    const requestId = randomUUID();
    const requestTimeEpoch = Date.now();
    const send = (response: RouteResponse) => {
      // HTTP/2 has no connection-specific headers.
      const headers = req.httpVersionMajor === 2 ? withoutHopByHop(response.headers) : response.headers;
      // The compatibility API has the same writeHead and end on both versions.
      (res as http.ServerResponse).writeHead(response.status, headers);
      res.end(response.body);
    };
    const gatewayResponse = (
      error: { code: string; status: number; message: string },
      extra: Record<string, string> = {},
    ): RouteResponse => ({
      status: error.status,
      headers: {
        'content-type': 'application/json',
        'x-request-id': requestId,
        ...gatewayErrorHeaders(error),
        ...extra,
      },
      body: gatewayErrorBody(error, requestId, requestTimeEpoch),
    });
    const gatewayError = (
      error: { code: string; status: number; message: string },
      extra: Record<string, string> = {},
    ) => send(gatewayResponse(error, extra));
    // API Gateway's REQUEST authorizer: 'Unauthorized' thrown means 401; any other failure, 500.
    const authorize = async (
      headers: http.IncomingHttpHeaders,
    ): Promise<Record<string, string> | undefined | 'unauthorized'> => {
      if (!options.authorizer) return undefined;
      try {
        const result = await options.authorizer({
          methodArn: `arn:aws:execute-api:local:000000000000:local/prod/POST${path}`,
          headers: flatHeaders(headers),
        });
        return result.context;
      } catch (error) {
        if ((error as Error).message === 'Unauthorized') return 'unauthorized';
        throw error;
      }
    };

    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const adminRoute = ADMIN_ROUTES.find((route) => route.pattern.test(path));
    if (path === OPENAPI_PATH) {
      req.resume();
      if (req.method !== 'GET') {
        gatewayError(GATEWAY_ERRORS.methodNotAllowed, { allow: 'GET' });
        return;
      }
      send({
        status: 200,
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: renderTemplate(openApi(options.limits), { body: '', requestId, requestTimeEpoch }).body,
      });
      return;
    }
    if (path === DASHBOARD_PATH) {
      req.resume();
      if (req.method !== 'GET') {
        gatewayError(GATEWAY_ERRORS.methodNotAllowed, { allow: 'GET' });
        return;
      }
      if (options.adminToken && !bearerMatches(req.headers.authorization, options.adminToken)) {
        gatewayError(GATEWAY_ERRORS.unauthorized);
        return;
      }
      dashboard(options.admin, requestId, Object.fromEntries(url.searchParams)).then(send, () =>
        gatewayError(GATEWAY_ERRORS.internal),
      );
      return;
    }
    // The streaming Lambda's routes (a Lambda proxy with response streaming on AWS).
    const streamed = STREAM_ROUTES.find((route) => route.pattern.test(path));
    const wire = streamed ? undefined : WIRE_ROUTES.find((route) => route.pattern.test(path));
    if (!wire && !adminRoute && !streamed) {
      req.resume();
      gatewayError(GATEWAY_ERRORS.notFound);
      return;
    }
    let pathParameters: Record<string, string> | undefined;
    if (wire?.route === 'converse' || streamed?.route === 'converse') {
      const route = wire ?? streamed;
      try {
        pathParameters = { modelId: decodeURIComponent(route?.pattern.exec(path)?.[1] ?? '') };
      } catch {
        req.resume();
        gatewayError(GATEWAY_ERRORS.invalidBody);
        return;
      }
    }
    const methods: readonly string[] = adminRoute ? adminRoute.methods : [INVOKE_METHOD];
    if (!methods.includes(req.method ?? '')) {
      req.resume();
      gatewayError(GATEWAY_ERRORS.methodNotAllowed, { allow: methods.join(', ') });
      return;
    }
    if (adminRoute && options.adminToken && !bearerMatches(req.headers.authorization, options.adminToken)) {
      req.resume();
      gatewayError(GATEWAY_ERRORS.unauthorized);
      return;
    }
    // API Gateway runs the authorizer before it looks at the body, as here.
    const proceed = (authorizer: Record<string, string> | undefined) => {
      const contentType = req.headers['content-type'] ?? 'application/json';
      // Only the workflow routes have a mapping template per media type; the admin routes and the
      // streaming Lambda's are proxied as-is (that Lambda answers 415 in its wire's shape).
      if (!adminRoute && !streamed && !JSON_MEDIA_TYPE.test(contentType)) {
        req.resume();
        gatewayError(GATEWAY_ERRORS.unsupportedMediaType);
        return;
      }
      if (Number(req.headers['content-length'] ?? 0) > GATEWAY_MAX_REQUEST_BYTES) {
        req.resume();
        gatewayError(GATEWAY_ERRORS.payloadTooLarge, { connection: 'close' });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let refused = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > GATEWAY_MAX_REQUEST_BYTES) {
          if (!refused) gatewayError(GATEWAY_ERRORS.payloadTooLarge, { connection: 'close' });
          refused = true;
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (refused) return;
        let body: string;
        try {
          body = STRICT_UTF8.decode(Buffer.concat(chunks));
        } catch {
          gatewayError(INVALID_UTF8);
          return;
        }
        // API Gateway's request validator, with the model the stack deploys (the seed format's only).
        if (wire?.route === 'invoke' && !matchesInvokeModel(body)) {
          gatewayError(GATEWAY_ERRORS.invalidBody);
          return;
        }
        if (streamed) {
          const sink = responseSink(res, req.httpVersionMajor);
          streamRoute(
            options.workflow,
            {
              resource: streamed.path,
              headers: flatHeaders(req.headers),
              body,
              pathParameters: pathParameters ?? null,
              requestContext: {
                requestId,
                requestTimeEpoch,
                identity: { userArn: null },
                authorizer: authorizer ?? null,
              },
            },
            sink,
          ).catch(() => {
            // What API Gateway answers when the Lambda fails before its first byte.
            if (!res.headersSent) gatewayError(GATEWAY_ERRORS.internal);
            else sink.end();
          });
          return;
        }
        const answer = adminRoute
          ? options
              .admin({
                httpMethod: req.method ?? 'GET',
                path,
                body: body === '' ? null : body,
                queryStringParameters: Object.fromEntries(url.searchParams),
                requestContext: { requestId, identity: { userArn: null } },
              })
              .then((result) => ({ status: result.statusCode, headers: result.headers, body: result.body }))
          : invokeRoute(
              options.workflow,
              {
                body,
                requestId,
                requestTimeEpoch,
                authorizer,
                headers: flatHeaders(req.headers),
                pathParameters,
              },
              options.maxBodyBytes,
              wire?.route,
            );
        answer.then(send, () => gatewayError(GATEWAY_ERRORS.internal));
      });
    };

    if (adminRoute || !options.authorizer) {
      proceed(undefined);
      return;
    }
    authorize(req.headers as http.IncomingHttpHeaders).then(
      (context) => {
        if (context === 'unauthorized') {
          req.resume();
          gatewayError(GATEWAY_ERRORS.unauthorized);
        } else proceed(context);
      },
      () => {
        req.resume();
        gatewayError(GATEWAY_ERRORS.internal);
      },
    );
  };
  const { server, h1, sockets } = dualProtocolServer(handle);
  answerMalformedRequests(h1);
  h1.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
