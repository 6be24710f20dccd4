import type { ProxyEvent, ProxyResult } from '../lambdas/budget-admin/handler.ts';
import { openApiTemplate } from '../lib/api/openapi.ts';
import { reportHtml, type SpendReport } from '../lib/report/html.ts';
import type { RouteResponse } from './invoke-route.ts';

/** The pages the local gateway serves besides the API: the OpenAPI document and /dashboard. */

/** The OpenAPI document's template, built once per limits. */
const openApiTemplates = new Map<string, string>();
export function openApi(limits: { maxMessages: number; maxContentChars: number }): string {
  const key = `${limits.maxMessages}/${limits.maxContentChars}`;
  let template = openApiTemplates.get(key);
  if (!template) {
    template = openApiTemplate(limits);
    openApiTemplates.set(key, template);
  }
  return template;
}

/** What finance sees, without AWS: the spend report page for a period (this month by default). */
export const DASHBOARD_PATH = '/dashboard';

export async function dashboard(
  admin: (event: ProxyEvent) => Promise<ProxyResult>,
  requestId: string,
  query: Record<string, string>,
): Promise<RouteResponse> {
  const result = await admin({
    httpMethod: 'GET',
    path: '/v1/report',
    body: null,
    queryStringParameters: query,
    requestContext: { requestId, identity: { userArn: null } },
  });
  if (result.statusCode !== 200)
    return { status: result.statusCode, headers: result.headers, body: result.body };
  // The Advice panel: the advisor's recommendations for the same period.
  const advice = await admin({
    httpMethod: 'GET',
    path: '/v1/advice',
    body: null,
    queryStringParameters: query,
    requestContext: { requestId, identity: { userArn: null } },
  });
  return {
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'x-request-id': requestId },
    body: reportHtml({
      ...(JSON.parse(result.body) as SpendReport),
      ...(advice.statusCode === 200 ? { advice: JSON.parse(advice.body) as SpendReport['advice'] } : {}),
    }),
  };
}
