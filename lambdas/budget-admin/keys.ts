import { z } from 'zod';
import { type ApiKeyRecord, newApiKey } from '../shared/rules/api-keys.ts';
import { TAG_VALUE } from '../shared/rules/catalog.ts';
import { NotFoundError } from '../shared/rules/errors.ts';
import { parseJsonBody } from '../shared/rules/json-body.ts';
import type { AdminDeps, AdminResponse } from './request.ts';

const tagValues = (max: number) =>
  z.array(z.string().regex(TAG_VALUE, 'must follow the tag value rule')).min(1).max(max);

const keyBodySchema = z
  .object({
    costCenters: tagValues(50),
    applicationIds: tagValues(50).optional(),
    environments: tagValues(20).optional(),
    description: z.string().max(256).optional(),
  })
  .strict();

/** What a listing shows of a key: never its secret or hash. */
function keyView(record: ApiKeyRecord): Record<string, unknown> {
  return {
    keyId: record.keyId,
    costCenters: record.costCenters,
    applicationIds: record.applicationIds ?? null,
    environments: record.environments ?? null,
    description: record.description ?? null,
    createdAt: record.createdAt,
  };
}

/** GET /v1/keys: every key, oldest first. */
export async function listKeys(deps: AdminDeps): Promise<AdminResponse> {
  const records = (await deps.keys.listKeys()).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return { status: 200, body: { keys: records.map(keyView) } };
}

/** POST /v1/keys: a new key bound to the body's tags; the key itself is in this answer only. */
export async function createKey(body: string | null, deps: AdminDeps): Promise<AdminResponse> {
  const input = parseJsonBody(body, keyBodySchema, 'The key');
  const { keyId, apiKey, secretHash } = newApiKey();
  const record: ApiKeyRecord = { keyId, secretHash, ...input, createdAt: deps.now().toISOString() };
  await deps.keys.putKey(record);
  return {
    status: 201,
    body: { ...keyView(record), apiKey, note: 'Store the apiKey now: it is shown only this once.' },
  };
}

/** DELETE /v1/keys/{keyId}: revoke a key at once. */
export async function revokeKey(keyId: string, deps: AdminDeps): Promise<AdminResponse> {
  if (!(await deps.keys.deleteKey(keyId))) throw new NotFoundError('There is no such key.');
  return { status: 204 };
}
