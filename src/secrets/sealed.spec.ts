import { randomBytes } from 'node:crypto';
import { isSealed, open, seal, SealedValueError, SEALED_PREFIX } from './sealed.js';

describe('sealed values', () => {
  const key = randomBytes(32);
  const jobId = '6f1c7b2e-8f2a-4d0a-9a51-3c1f6f1b2a10';

  it('round-trips, in the sealed:v1: format, never showing the value', () => {
    const sealed = seal('Bearer SUPER-SECRET-123', key, jobId);
    expect(sealed.startsWith(SEALED_PREFIX)).toBe(true);
    expect(sealed).toMatch(/^sealed:v1:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('SUPER-SECRET');
    expect(isSealed(sealed)).toBe(true);
    expect(open(sealed, key, jobId)).toBe('Bearer SUPER-SECRET-123');
  });

  it('round-trips the empty string and non-ASCII text', () => {
    expect(open(seal('', key, jobId), key, jobId)).toBe('');
    expect(open(seal('pässwörd ✓ 密码', key, jobId), key, jobId)).toBe('pässwörd ✓ 密码');
  });

  it('uses a fresh IV each time', () => {
    expect(seal('same', key, jobId)).not.toBe(seal('same', key, jobId));
  });

  it('detects tampering with any part (iv, ciphertext, tag)', () => {
    const sealed = seal('value-to-protect', key, jobId);
    const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
    for (const position of [0, 12, raw.length - 1]) {
      const altered = Buffer.from(raw);
      altered[position]! ^= 0x01;
      expect(() => open(SEALED_PREFIX + altered.toString('base64url'), key, jobId)).toThrow(SealedValueError);
    }
    expect(() => open(SEALED_PREFIX + raw.subarray(0, 20).toString('base64url'), key, jobId)).toThrow(SealedValueError);
  });

  it('is bound to the job id (AAD): a value copied into another job does not open', () => {
    const sealed = seal('value', key, jobId);
    expect(() => open(sealed, key, '00000000-0000-4000-8000-000000000000')).toThrow(SealedValueError);
  });

  it('does not open under another key', () => {
    expect(() => open(seal('value', key, jobId), randomBytes(32), jobId)).toThrow(SealedValueError);
  });

  it('refuses what is not sealed, and keys of the wrong size', () => {
    expect(isSealed('plain')).toBe(false);
    expect(isSealed(42)).toBe(false);
    expect(() => open('plain', key, jobId)).toThrow(SealedValueError);
    expect(() => seal('x', randomBytes(16), jobId)).toThrow(/32 bytes/);
  });
});
