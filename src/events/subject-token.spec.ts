import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { fromSubjectToken, subjectToken } from './subject-token.js';

describe('subjectToken', () => {
  it('turns any string into one subject token: no level, no wildcard, nothing a server refuses', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (value) => expect(subjectToken(value)).toMatch(/^[A-Za-z0-9_-]+$/)), { numRuns: 2000 });
    expect(subjectToken('*')).toBe('_2a_');
    expect(subjectToken('>')).toBe('_3e_');
    expect(subjectToken('a.b')).toBe('a_2e_b');
    expect(subjectToken('')).toBe('_');
  });

  it('is one-to-one: two values never share a subject (each token decodes back to its value)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (value) => fromSubjectToken(subjectToken(value)) === value), { numRuns: 5000 });
    // The escape character itself is escaped, so an escape sequence written out is not the character.
    expect(subjectToken('_2a_')).not.toBe(subjectToken('*'));
  });

  it('leaves UUIDs, which every subject of Chronos holds today, unchanged', () => {
    for (let i = 0; i < 100; i++) {
      const id = randomUUID();
      expect(subjectToken(id)).toBe(id);
    }
  });
});
