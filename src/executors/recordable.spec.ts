import fc from 'fast-check';
import { bytesForm, errorMessage, isRecordableText, MAX_DEPTH, recordableResult, recordableText, recordableValue, textPrefix, utf8Boundary, wellFormedText } from './recordable.js';

/** What PostgreSQL jsonb refuses: U+0000 and any unpaired surrogate. */
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const storable = (value: unknown): boolean => !UNSTORABLE.test(JSON.stringify(value) ?? '') && !/\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i.test(JSON.stringify(value) ?? '');
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
/** Strings from every plane, with lone surrogates and NULs mixed in. */
const hostileString = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('\0', '\ud800', '\udfff', 'a', '😀', '\u0001', '"', '\\') }));

describe('wellFormedText', () => {
  it('replaces U+0000 and unpaired surrogates with U+FFFD, keeps pairs and every other character', () => {
    expect(wellFormedText('a\0b')).toBe('a\uFFFDb');
    expect(wellFormedText('x\ud800y')).toBe('x\uFFFDy');
    expect(wellFormedText('\udc00😀\ud83d')).toBe('\uFFFD😀\uFFFD');
    expect(wellFormedText('tab\tnew\nline\u0001\u007f\uFFFE')).toBe('tab\tnew\nline\u0001\u007f\uFFFE');
  });

  it('always gives text jsonb can hold, of the same length in UTF-16 units', () => {
    fc.assert(fc.property(hostileString, (text) => {
      const clean = wellFormedText(text);
      expect(UNSTORABLE.test(clean)).toBe(false);
      expect(clean.length).toBe(text.length);
    }));
  });
});

describe('textPrefix and recordableText', () => {
  it('cut on a code point within the byte bound; a cut text ends in an ellipsis', () => {
    const text = `${'a'.repeat(4095)}😀`; // the emoji's 4 bytes straddle a 4096-byte cut
    expect(textPrefix(text, 4096)).toBe('a'.repeat(4095));
    expect(textPrefix(text, 4099)).toBe(text);
    expect(recordableText(text, 4099)).toBe(text);
    expect(recordableText(text, 4096)).toBe(`${'a'.repeat(4093)}…`);
    expect(Buffer.byteLength(recordableText('é'.repeat(100), 11))).toBeLessThanOrEqual(11);
  });

  it('never exceed the bound, never split a pair, never lose a prefix', () => {
    fc.assert(fc.property(hostileString, fc.nat(64), (text, max) => {
      const clean = wellFormedText(text);
      const prefix = textPrefix(clean, max);
      expect(clean.startsWith(prefix)).toBe(true);
      expect(Buffer.byteLength(prefix)).toBeLessThanOrEqual(max);
      expect(UNSTORABLE.test(prefix)).toBe(false);
      const recorded = recordableText(text, Math.max(max, 3));
      expect(Buffer.byteLength(recorded)).toBeLessThanOrEqual(Math.max(max, 3));
      expect(UNSTORABLE.test(recorded)).toBe(false);
    }));
  });
});

describe('bytesForm', () => {
  it('keeps valid UTF-8 without NUL as text, anything else as base64 of the exact bytes', () => {
    expect(bytesForm(Buffer.from('héllo\u0001'), 4096)).toEqual({ encoding: 'utf8', data: 'héllo\u0001', truncated: false });
    expect(bytesForm(Buffer.from([0x61, 0x00, 0x62]), 4096)).toEqual({ encoding: 'base64', data: 'YQBi', truncated: false });
    // CESU-8 / WTF-8: a surrogate encoded on its own is not UTF-8.
    expect(bytesForm(Buffer.from([0xed, 0xa0, 0x80]), 4096).encoding).toBe('base64');
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    expect(Buffer.from(bytesForm(png, 4096).data, 'base64')).toEqual(png);
  });

  it('keeps a UTF-8 byte order mark (the text is the bytes)', () => {
    expect(bytesForm(Buffer.from([0xef, 0xbb, 0xbf, 0x61]), 10).data).toBe('\uFEFFa');
  });

  it('cuts text before a sequence the limit would split, base64 at the limit', () => {
    const text = Buffer.from(`${'a'.repeat(4095)}😀`);
    expect(bytesForm(text, 4096)).toEqual({ encoding: 'utf8', data: 'a'.repeat(4095), truncated: true });
    const binary = Buffer.concat([Buffer.from([0]), text]);
    const form = bytesForm(binary, 4096);
    expect(form).toMatchObject({ encoding: 'base64', truncated: true });
    expect(Buffer.from(form.data, 'base64')).toEqual(binary.subarray(0, 4096));
    expect(bytesForm(Buffer.from('abc'), 4096, true)).toEqual({ encoding: 'utf8', data: 'abc', truncated: true });
  });

  it('is always a prefix of the bytes, exactly so as base64', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(70), (bytes, keep) => {
      const form = bytesForm(bytes, keep);
      const decoded = form.encoding === 'utf8' ? Buffer.from(form.data, 'utf8') : Buffer.from(form.data, 'base64');
      expect(Buffer.from(bytes).subarray(0, decoded.length)).toEqual(decoded);
      expect(decoded.length).toBeLessThanOrEqual(keep);
      expect(form.truncated).toBe(decoded.length < bytes.length);
      if (form.encoding === 'base64') expect(decoded.length).toBe(Math.min(keep, bytes.length));
      if (form.encoding === 'utf8') expect(UNSTORABLE.test(form.data)).toBe(false);
    }));
  });

  it('utf8Boundary backs off only over continuation bytes, at most three', () => {
    const bytes = Buffer.from('a😀b');
    expect([0, 1, 2, 3, 4, 5, 6].map((end) => utf8Boundary(bytes, end))).toEqual([0, 1, 1, 1, 1, 5, 6]);
    const junk = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80]);
    expect(utf8Boundary(junk, 4)).toBe(4);
    expect(isRecordableText(Buffer.from('ok'))).toBe(true);
  });
});

describe('recordableValue', () => {
  const record = (value: unknown, maxBytes = 65536) => recordableValue(value, { maxBytes });

  it('is JSON.parse(JSON.stringify(value)) for plain JSON', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
      // JSON has no -0: a recorded value is what JSON text says.
      expect(record(value)).toEqual(JSON.parse(JSON.stringify(value)));
    }));
  });

  it('records what a custom handler may return, in the documented form, without throwing', () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    circular.list = [circular, 1];
    expect(record(circular)).toEqual({ name: 'loop', self: '[circular]', list: ['[circular]', 1] });
    expect(record(123n)).toBe('123');
    expect(record({ big: 2n ** 70n })).toEqual({ big: '1180591620717411303424' });
    expect(record(undefined)).toBeUndefined();
    expect(record(() => 1)).toBeUndefined();
    expect(record({ a: undefined, f: () => 1, s: Symbol('x'), n: NaN, i: -Infinity })).toEqual({ n: null, i: null });
    expect(record([undefined, () => 1])).toEqual([null, null]);
    expect(record('a\0b\ud800')).toBe('a\uFFFDb\uFFFD');
    expect(record({ 'k\0': 'v\udc00' })).toEqual({ 'k\uFFFD': 'v\uFFFD' });
    expect(record(Buffer.from('hello'))).toEqual({ encoding: 'utf8', data: 'hello', bytes: 5, truncated: false });
    expect(record(new Uint8Array([0, 255]))).toEqual({ encoding: 'base64', data: 'AP8=', bytes: 2, truncated: false });
    expect(record(new ArrayBuffer(2))).toEqual({ encoding: 'base64', data: 'AAA=', bytes: 2, truncated: false });
    expect(record(new Date('2026-01-01T00:00:00Z'))).toBe('2026-01-01T00:00:00.000Z');
    expect(record({ when: new Date(NaN) })).toEqual({ when: null });
    expect(record(new String('x\0'))).toBe('x\uFFFD');
  });

  it('records a part that throws when read as "[unserializable: …]", the rest as it is', () => {
    const hostile = { ok: 1, get bad(): unknown { throw new Error('no\0way'); } };
    expect(record({ hostile, kept: true })).toEqual({ hostile: '[unserializable: no\uFFFDway]', kept: true });
    expect(record({ j: { toJSON: () => { throw 'thrown string'; } } })).toEqual({ j: '[unserializable: thrown string]' });
    const proxy = new Proxy({}, { ownKeys: () => { throw new TypeError('trap'); } });
    expect(record([proxy])).toEqual(['[unserializable: trap]']);
    class Endless { toJSON(): unknown { return new Endless(); } }
    expect(JSON.stringify(record(new Endless()))).toContain('[too deep]');
  });

  it('stops nesting at MAX_DEPTH', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100; i++) deep = [deep];
    let value = record(deep);
    let depth = 0;
    while (Array.isArray(value)) {
      value = value[0];
      depth++;
    }
    expect(depth).toBe(MAX_DEPTH);
    expect(value).toBe('[too deep]');
  });

  it('bounds a large value: a 10 MB object becomes a preview of its JSON within the limit', () => {
    const huge = { rows: Array.from({ length: 100_000 }, (_, i) => ({ i, text: 'x'.repeat(100) })) };
    const recorded = record(huge) as { truncated: boolean; limitBytes: number; preview: string };
    expect(recorded).toMatchObject({ truncated: true, limitBytes: 65536 });
    expect(recorded.preview.startsWith('{"rows":[{"i":0,"text":"xxx')).toBe(true);
    expect(jsonBytes(recorded)).toBeLessThanOrEqual(65536);
    expect(record('y'.repeat(10_000_000), 1000)).toMatchObject({ truncated: true, limitBytes: 1000 });
    const buffer = record(Buffer.alloc(1_000_000, 1), 4096) as { bytes: number; truncated: boolean; data: string };
    expect(buffer).toMatchObject({ bytes: 1_000_000, truncated: true });
    expect(jsonBytes(buffer)).toBeLessThanOrEqual(4096);
  });

  it('masks every whole string and key before anything is cut', () => {
    const mask = (text: string) => text.split('s3cret').join('••••••');
    expect(recordableValue({ 's3cret-key': ['a s3cret b'] }, { maxBytes: 1000, mask })).toEqual({ '••••••-key': ['a •••••• b'] });
    // A secret straddling the cut is masked before the cut, so no part of it shows.
    const cut = recordableValue(`${'a'.repeat(90)}s3cret`, { maxBytes: 100, mask });
    expect(JSON.stringify(cut)).not.toMatch(/s3c|s3|3c/);
  });

  it('anything fast-check can build is recorded storable and bounded', () => {
    fc.assert(fc.property(fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true, withMap: true, withSet: true, stringUnit: 'binary' }), fc.integer({ min: 64, max: 4096 }), (value, maxBytes) => {
      const recorded = recordableValue(value, { maxBytes });
      if (recorded === undefined) return;
      expect(storable(recorded)).toBe(true);
      expect(jsonBytes(recorded)).toBeLessThanOrEqual(maxBytes);
    }));
  });
});

describe('recordableResult and errorMessage', () => {
  it('bounds the error, masks both, and records no output for undefined', () => {
    const mask = (text: string) => text.replace('pw', '••');
    expect(recordableResult(undefined, 'pw\0'.repeat(3000), mask)).toEqual({ error: expect.stringMatching(/^(••\uFFFD)+.*…$/) });
    expect(Buffer.byteLength(recordableResult(undefined, 'x'.repeat(10_000)).error!)).toBeLessThanOrEqual(4096);
    expect(recordableResult({ said: 'pw' }, undefined, mask)).toEqual({ output: { said: '••' } });
    expect(recordableResult(null, undefined)).toEqual({ output: null });
  });

  it('describes anything thrown', () => {
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage(null)).toBe('null');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage(Object.create(null))).toBe('unknown error (it could not be described)');
    expect(errorMessage(Symbol('s'))).toBe('Symbol(s)');
  });
});
