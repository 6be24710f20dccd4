/**
 * The HTTP edges of the local gateway: error bodies from the deployed template, requests node's
 * parser refuses, the admin token's check and the header shapes API Gateway hands over.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS } from '../lambdas/shared/rules/errors.ts';
import { gatewayErrorTemplate } from '../lib/api/gateway-responses.ts';
import { renderTemplate } from './vtl.ts';

/** Headers that HTTP/1.1 allows and HTTP/2 forbids. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

/** What node's HTTP parser refuses (a bad Content-Length, Content-Length with Transfer-Encoding, a CR in a header). */
const MALFORMED_HTTP = { ...ERRORS.InvalidRequestError, message: 'The request is not well-formed HTTP/1.1.' };

/** The headers less those HTTP/2 forbids. */
export function withoutHopByHop(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

/** The body of a gateway error, rendered from the template the stack deploys. */
export function gatewayErrorBody(
  error: { code: string; message: string },
  requestId: string,
  requestTimeEpoch: number,
): string {
  return renderTemplate(gatewayErrorTemplate(error), { body: '', requestId, requestTimeEpoch }).body;
}

/**
 * Node answers a request its parser refuses with a bare 400; answer with our error body and an
 * x-request-id instead, written straight to the socket (there is no response object), then close.
 */
export function answerMalformedRequests(h1: http.Server): void {
  h1.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const requestId = randomUUID();
    const body = gatewayErrorBody(MALFORMED_HTTP, requestId, Date.now());
    socket.end(
      [
        `HTTP/1.1 ${MALFORMED_HTTP.status} Bad Request`,
        'content-type: application/json',
        `content-length: ${Buffer.byteLength(body)}`,
        `x-request-id: ${requestId}`,
        'connection: close',
        '',
        body,
      ].join('\r\n'),
    );
  });
}

/**
 * Does the Authorization header carry the admin token? Compares SHA-256 digests, which always
 * have the same length, so neither the outcome nor the time taken tells the token's length.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

/** Node's headers as API Gateway hands them over: one string a name. */
export function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .filter((entry): entry is [string, string | string[]] => entry[1] !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
  );
}
