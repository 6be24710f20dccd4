import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Binding } from './callers.ts';

/** An API key as stored: its binding and a SHA-256 of its secret, never the key itself. */
export interface ApiKeyRecord extends Binding {
  keyId: string;
  secretHash: string;
  description?: string | undefined;
  createdAt: string;
}

/** Where API keys live. */
export interface KeyStore {
  putKey(record: ApiKeyRecord): Promise<void>;
  getKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  listKeys(): Promise<ApiKeyRecord[]>;
  /** Delete a key; true when it existed. Revocation takes effect on the next request. */
  deleteKey(keyId: string): Promise<boolean>;
}

const KEY_FORMAT = /^cs_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A new key: shown to its owner once as `cs_<keyId>_<secret>`; only the secret's hash is kept. */
export function newApiKey(): { keyId: string; apiKey: string; secretHash: string } {
  const keyId = randomBytes(10).toString('hex').slice(0, 16);
  const secret = randomBytes(32).toString('base64url');
  return { keyId, apiKey: `cs_${keyId}_${secret}`, secretHash: sha256(secret) };
}

/** Split a presented key into its ID and secret, or undefined when it is not one of ours. */
export function parseApiKey(apiKey: string): { keyId: string; secret: string } | undefined {
  const match = KEY_FORMAT.exec(apiKey);
  return match ? { keyId: match[1] as string, secret: match[2] as string } : undefined;
}

/** Does the presented secret hash to the stored one? Constant time. */
export function secretMatches(secret: string, secretHash: string): boolean {
  const presented = Buffer.from(sha256(secret), 'hex');
  const stored = Buffer.from(secretHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** The bearer token of an Authorization header. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}
