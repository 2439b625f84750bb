import { storableInstant, storableJson, storableText } from './storable.js';

describe('values as the read models store them', () => {
  it('replaces each NUL and unpaired surrogate with U+FFFD and keeps every other character', () => {
    expect(storableText('a\u0000b')).toBe('a\ufffdb');
    expect(storableText('x\ud800y\udfffz')).toBe('x\ufffdy\ufffdz');
    expect(storableText('end\ud83d')).toBe('end\ufffd');
    expect(storableText('\ude00start')).toBe('\ufffdstart');
    // Paired surrogates, controls other than NUL, and the replacement character itself are stored as they are.
    expect(storableText('😀 \u0001\u001b[2J \ufffd \u{10ffff}')).toBe('😀 \u0001\u001b[2J \ufffd \u{10ffff}');
    expect(storableText(null)).toBeNull();
  });

  it('makes JSON whose strings and keys PostgreSQL jsonb accepts, at every depth', () => {
    const json = storableJson({ 'k\u0000': ['v\ud800', { deep: '\u0000' }], fine: '😀', n: 1, none: null });
    expect(JSON.parse(json)).toEqual({ 'k\ufffd': ['v\ufffd', { deep: '\ufffd' }], fine: '😀', n: 1, none: null });
    expect(json).not.toMatch(/\\u0000|\\ud[89ab]/i);
  });

  it('writes instants in a notation timestamptz reads back to the same instant', () => {
    expect(storableInstant('2026-06-01T10:00:00.000Z')).toBe('2026-06-01T10:00:00.000Z');
    expect(storableInstant('2026-06-01T12:00:00+02:00')).toBe('2026-06-01T10:00:00.000Z');
    expect(storableInstant('+010000-01-01T00:59:59.000Z')).toBe('10000-01-01T00:59:59.000Z');
    expect(storableInstant(new Date(8.64e15).toISOString())).toBe('275760-09-13T00:00:00.000Z');
    expect(storableInstant('0000-06-01T00:00:00.000Z')).toBe('0001-06-01T00:00:00.000Z BC');
    expect(storableInstant('-000001-06-01T00:00:00.000Z')).toBe('0002-06-01T00:00:00.000Z BC');
    expect(storableInstant(new Date(-8.64e15).toISOString())).toBe('-infinity');
    expect(storableInstant(null)).toBeNull();
    expect(storableInstant('not a time')).toBeNull();
  });
});
