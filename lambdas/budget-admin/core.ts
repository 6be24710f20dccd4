import { MethodNotAllowedError, NotFoundError } from '../shared/rules/errors.ts';
import { advice } from './advice.ts';
import { deleteBudget, getBudget, listBudgets, pathScope, putBudget } from './budgets.ts';
import { createKey, listKeys, revokeKey } from './keys.ts';
import { type AdminDeps, type AdminRequest, type AdminResponse, decodePathSegment } from './request.ts';
import { report, usage } from './usage-report.ts';

export type { AdminDeps, AdminRequest, AdminResponse } from './request.ts';

/**
 * The admin routes: their path patterns (each parameter a named group) and methods. The gateways
 * answer 405 for other methods.
 */
export const ADMIN_ROUTES = [
  { name: 'budgets', pattern: /^\/v1\/budgets$/, methods: ['GET'] },
  { name: 'budget', pattern: /^\/v1\/budgets\/(?<costCenter>[^/]+)$/, methods: ['GET', 'PUT', 'DELETE'] },
  {
    name: 'budget',
    pattern: /^\/v1\/budgets\/(?<costCenter>[^/]+)\/applications\/(?<applicationId>[^/]+)$/,
    methods: ['GET', 'PUT', 'DELETE'],
  },
  { name: 'usage', pattern: /^\/v1\/usage$/, methods: ['GET'] },
  { name: 'report', pattern: /^\/v1\/report$/, methods: ['GET'] },
  { name: 'advice', pattern: /^\/v1\/advice$/, methods: ['GET'] },
  { name: 'keys', pattern: /^\/v1\/keys$/, methods: ['GET', 'POST'] },
  { name: 'key', pattern: /^\/v1\/keys\/(?<keyId>[^/]+)$/, methods: ['DELETE'] },
] as const;

/** Route an admin call. Throws a SentryError for anything the caller must fix. */
export async function handleAdmin(request: AdminRequest, deps: AdminDeps): Promise<AdminResponse> {
  const route = ADMIN_ROUTES.find((r) => r.pattern.test(request.path));
  if (!route) throw new NotFoundError('No such route.');
  if (!(route.methods as readonly string[]).includes(request.method)) {
    throw new MethodNotAllowedError(route.methods);
  }
  const params: Partial<Record<'costCenter' | 'applicationId' | 'keyId', string>> =
    route.pattern.exec(request.path)?.groups ?? {};

  switch (route.name) {
    case 'usage':
      return usage(request.query, deps);
    case 'report':
      return report(request.query, deps);
    case 'advice':
      return advice(request.query, deps);
    case 'keys':
      return request.method === 'GET' ? listKeys(deps) : createKey(request.body, deps);
    case 'key':
      return revokeKey(decodePathSegment(params.keyId ?? '', 'keyId'), deps);
    case 'budgets':
      return listBudgets(deps);
    case 'budget': {
      const scope = pathScope(
        decodePathSegment(params.costCenter ?? '', 'costCenter'),
        params.applicationId && decodePathSegment(params.applicationId, 'applicationId'),
      );
      if (request.method === 'GET') return getBudget(scope, deps);
      if (request.method === 'PUT') return putBudget(scope, request.body, deps);
      return deleteBudget(scope, deps);
    }
  }
}
