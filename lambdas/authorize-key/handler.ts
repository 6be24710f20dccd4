import { UnauthorizedError } from '../shared/rules/errors.ts';
import { keyStoreFromEnv } from '../shared/wiring/clients.ts';
import { logger } from '../shared/wiring/powertools.ts';
import { type AuthorizerEvent, type AuthorizerResult, authorizeKey } from './core.ts';

const store = keyStoreFromEnv();

/**
 * The API-key authorizer of POST /v1/invoke. Its results are not cached, so a revoked key stops
 * working on the next request. A store failure refuses the call (API Gateway answers 500).
 */
export const handler = async (event: AuthorizerEvent): Promise<AuthorizerResult> => {
  try {
    return await authorizeKey(event, store);
  } catch (error) {
    // API Gateway answers 401 (our UNAUTHORIZED body) for exactly this message, 500 for any other.
    if (error instanceof UnauthorizedError) throw new Error('Unauthorized');
    logger.error('authorizer failed', { error });
    throw error;
  }
};
