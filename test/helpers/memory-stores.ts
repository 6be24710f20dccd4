import type { ApiKeyRecord, KeyStore } from '../../lambdas/shared/rules/api-keys.ts';
import type { IdempotencyRecord, IdempotencyStore } from '../../lambdas/shared/rules/idempotency.ts';

/** API keys by ID: an in-memory {@link KeyStore} for core unit tests, no AWS. */
export class MemoryKeyStore implements KeyStore {
  readonly records = new Map<string, ApiKeyRecord>();

  constructor(records: ApiKeyRecord[] = []) {
    for (const record of records) this.records.set(record.keyId, record);
  }

  async putKey(record: ApiKeyRecord): Promise<void> {
    this.records.set(record.keyId, record);
  }

  async getKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    return this.records.get(keyId);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return [...this.records.values()];
  }

  async deleteKey(keyId: string): Promise<boolean> {
    return this.records.delete(keyId);
  }
}

/**
 * Idempotency-Key records by scope and key. As the DynamoDB adapter's condition does, a claim
 * takes a key that is free or expired at the claim's own time, and otherwise returns the holder.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();

  constructor(held: Array<{ scope: string; key: string; record: IdempotencyRecord }> = []) {
    for (const { scope, key, record } of held) this.records.set(idOf(scope, key), record);
  }

  async claim(scope: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord | undefined> {
    const held = this.records.get(idOf(scope, key));
    if (held && held.expiresAt >= Math.floor(record.createdAt / 1000)) return held;
    this.records.set(idOf(scope, key), record);
    return undefined;
  }

  async complete(scope: string, key: string, requestId: string, response: string, errorCode?: string) {
    const held = this.records.get(idOf(scope, key));
    if (held?.requestId !== requestId) return;
    this.records.set(idOf(scope, key), { ...held, status: 'COMPLETED', response, errorCode });
  }

  async release(scope: string, key: string, requestId: string): Promise<void> {
    if (this.records.get(idOf(scope, key))?.requestId === requestId) this.records.delete(idOf(scope, key));
  }
}

const idOf = (scope: string, key: string) => `${scope}\u0000${key}`;
