import fc from 'fast-check';
import { headerProblems } from './dto/payload.dto.js';
import { refusedRequestValues } from './request-values.js';

const fields = (value: unknown, path = '') => refusedRequestValues(value, path).map((problem) => problem.field);

describe('refusedRequestValues: what no field of any request may hold', () => {
  it('names each string with NUL or an unpaired surrogate by its path, at every depth', () => {
    const body = { name: 'a\u0000b', labels: { team: 'x\ud800y', ok: 'fine' }, payload: { data: [{ deep: ['\udc00'] }], list: ['ok'] } };
    expect(fields(body)).toEqual(['name', 'labels.team', 'payload.data.0.deep.0']);
    expect(fields('q\u0000', 'q')).toEqual(['q']);
  });

  it('checks keys too, shown with their controls and lone surrogates escaped', () => {
    expect(fields({ labels: { 'te\u0000am': 'x', ['\ud800']: 'y' } })).toEqual(['labels.te\\u0000am', 'labels.\\ud800']);
  });

  it('refuses __proto__, constructor and prototype as field names at every depth', () => {
    const body = JSON.parse('{"__proto__": 1, "labels": {"constructor": "x"}, "payload": {"data": {"prototype": {}}}}');
    expect(fields(body)).toEqual(['__proto__', 'labels.constructor', 'payload.data.prototype']);
  });

  it('names the empty key ""', () => {
    expect(fields({ '': 'a\u0000' })).toEqual(['""']);
  });

  it('refuses numbers that overflowed to ±Infinity (JSON would write them as null); -0 is a number', () => {
    expect(fields(JSON.parse('{"a": 1e400, "b": [-1e400], "c": -0, "d": 5e-324}'))).toEqual(['a', 'b.0']);
  });

  it('accepts well-formed text from every plane, controls, bidi marks and noncharacters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (key, text) => {
        fc.pre(!key.includes('\u0000') && !text.includes('\u0000') && !['__proto__', 'constructor', 'prototype'].includes(key));
        expect(refusedRequestValues({ [key]: text, list: [text] }, '')).toEqual([]);
      }),
    );
    expect(fields({ a: '\u0001\u001b[2J\u007f\u0085\u202e\u2066\ufeff\uffff\u{10ffff}\u{1f600}' })).toEqual([]);
  });

  it('finds every lone surrogate, wherever it sits', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ unit: 'binary' }), (before, code, after) => {
        const text = `${before}${String.fromCharCode(code)}${after}`;
        // A high surrogate right before a low one is a pair: valid.
        fc.pre(!(code <= 0xdbff && /^[\udc00-\udfff]/.test(after)) && !(code >= 0xdc00 && /[\ud800-\udbff]$/.test(before)));
        expect(fields({ text })).toEqual(['text']);
      }),
    );
  });
});

describe('headerProblems: http payload headers as a request sends them', () => {
  it('accepts tokens with field values of visible ASCII, Latin-1, inner spaces and tabs', () => {
    expect(headerProblems({ Accept: 'application/json', 'X-Latin1': 'café ÿ', 'X-Inner': 'a b\tc', "x!#$%&'*+-.^_`|~": 'v', 'X-Empty': '' })).toEqual([]);
  });

  it.each([
    [{ 'X A': 'v' }, 'X A', 'RFC 9110 token'],
    [{ 'X:A': 'v' }, 'X:A', 'RFC 9110 token'],
    [{ 'Ünï': 'v' }, 'Ünï', 'RFC 9110 token'],
    [{ '': 'v' }, '""', 'RFC 9110 token'],
    [{ 'X\u0001': 'v' }, 'X\\u0001', 'RFC 9110 token'],
    [{ 'X-A': 'a\r\nX-Injected: 1' }, 'X-A', 'no CR, LF'],
    [{ 'X-A': 'a\u0001' }, 'X-A', 'no CR, LF'],
    [{ 'X-A': '€' }, 'X-A', 'beyond U+00FF'],
    [{ 'X-A': ' lead' }, 'X-A', 'leading or trailing'],
    [{ 'X-A': 'trail\t' }, 'X-A', 'leading or trailing'],
    [{ 'X-A': 'a', 'x-a': 'b' }, 'x-a', 'twice'],
    [{ 'content-length': '3' }, 'content-length', 'set by Chronos'],
    [{ 'Idempotency-Key': 'k' }, 'Idempotency-Key', 'set by Chronos'],
    [{ 'X-A': 5 }, 'X-A', 'must be a string'],
  ])('%j: %s is refused (%s)', (headers, field, reason) => {
    expect(headerProblems(headers)).toEqual([{ field, message: expect.stringContaining(reason) }]);
  });

  it('lets the mask through: it stands for a stored secret and is never sent', () => {
    expect(headerProblems({ Authorization: '••••••' })).toEqual([]);
  });
});
