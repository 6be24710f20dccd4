import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * An item's size as DynamoDB bills it ("DynamoDB item sizes and formats" in the DynamoDB
 * developer guide): each attribute's name in UTF-8 bytes plus its value; a string's UTF-8 bytes;
 * a number's one byte per two significant digits plus one; a map or list 3 bytes plus one per
 * element plus the elements.
 */
export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueBytes(value), 0);
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M !== undefined) {
    const entries = Object.entries(value.M);
    return 3 + entries.reduce((sum, [name, v]) => sum + 1 + utf8(name) + valueBytes(v), 0);
  }
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueBytes(v), 0);
  throw new Error('itemBytes: a type the sentry does not store');
}

function numberBytes(text: string): number {
  const digits = text.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** The write units of a write to an item this size: one per KB, at least one. */
export const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
