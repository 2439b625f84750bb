import { createHash } from 'node:crypto';

/**
 * A UUID-shaped id derived from `name` (SHA-256, version 5 and variant bits set): whatever is derived from the
 * same event or execution again (a replayed batch, a repeated step) gets the same id, so it is stored once.
 */
export function derivedUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
