import type { ExecutionInput, ValidatedRequest } from '../shared/rules/types.ts';
import { catalogFromEnv, openCallersFromEnv, profilesFromEnv } from '../shared/wiring/env.ts';
import { validateRequest } from './core.ts';

const catalog = catalogFromEnv();
const options = { openCallers: openCallersFromEnv(), profiles: profilesFromEnv() };

/** ValidateRequest: Step Functions passes the execution input as the API built it. */
export const handler = async (event: ExecutionInput): Promise<ValidatedRequest> =>
  validateRequest(event, catalog, options);
