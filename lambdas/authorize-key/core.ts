import { bearerToken, type KeyStore, parseApiKey, secretMatches } from '../shared/rules/api-keys.ts';
import { UnauthorizedError } from '../shared/rules/errors.ts';

/** What API Gateway passes a REQUEST authorizer (the fields this one reads). */
export interface AuthorizerEvent {
  methodArn: string;
  headers?: Record<string, string | undefined> | null;
}

/** An IAM policy allowing this one call, with the key's binding as context for the mapping template. */
export interface AuthorizerResult {
  principalId: string;
  policyDocument: {
    Version: '2012-10-17';
    Statement: Array<{ Action: 'execute-api:Invoke'; Effect: 'Allow'; Resource: string }>;
  };
  context: { keyId: string; costCenters: string; applicationIds: string; environments: string };
}

const headerOf = (event: AuthorizerEvent, name: string) =>
  Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];

/**
 * Check `Authorization: Bearer cs_...` against the stored hash; allow the call with the key's
 * binding. A missing, malformed, unknown or revoked key, or a wrong secret, is an UnauthorizedError.
 */
export async function authorizeKey(event: AuthorizerEvent, store: KeyStore): Promise<AuthorizerResult> {
  const parsed = parseApiKey(bearerToken(headerOf(event, 'authorization')) ?? '');
  if (!parsed) throw new UnauthorizedError();
  const record = await store.getKey(parsed.keyId);
  if (!record || !secretMatches(parsed.secret, record.secretHash)) throw new UnauthorizedError();
  return {
    principalId: `key:${record.keyId}`,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
    },
    context: {
      keyId: record.keyId,
      costCenters: record.costCenters.join(','),
      applicationIds: record.applicationIds?.join(',') ?? '*',
      environments: record.environments?.join(',') ?? '*',
    },
  };
}
