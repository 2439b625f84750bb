import fc from 'fast-check';
import { EARLIEST_INSTANT_MS, LATEST_INSTANT_MS, parseInstant } from './instant.js';

const at = (text: string) => {
  const parsed = parseInstant(text);
  return parsed.ok ? parsed.at.toISOString() : `refused: ${parsed.reason}`;
};

describe('parseInstant', () => {
  it.each([
    ['2026-11-22T09:00:00Z', '2026-11-22T09:00:00.000Z'],
    ['2026-11-22T09:00:00.5Z', '2026-11-22T09:00:00.500Z'],
    ['2026-11-22T09:00:00.123456789Z', '2026-11-22T09:00:00.123Z'],
    ['2026-11-22T10:30:00+01:30', '2026-11-22T09:00:00.000Z'],
    ['2026-11-22T00:00:00-09:00', '2026-11-22T09:00:00.000Z'],
    ['2026-11-22T09:00:00-00:00', '2026-11-22T09:00:00.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (text, expected) => {
    expect(at(text)).toBe(expected);
  });

  it.each([
    ['2026-W01', 'a week date'],
    ['2026-152', 'an ordinal date'],
    ['2026-06-01', 'a date without a time'],
    ['20260601T000000Z', 'the basic format'],
    ['2026-06-01T10Z', 'an hour alone'],
    ['2026-06-01T10:00Z', 'no seconds'],
    ['2026-06-01T10:00:00,5Z', 'a comma fraction'],
    ['2026-06-01T10:00:00+01', 'an offset of hours alone'],
    ['2026-06-01T10:00:00+0100', 'an offset without a colon'],
    ['2026-06-01T10:00:00', 'no offset (local time: which zone?)'],
    ['2026-06-01 10:00:00Z', 'a space for T'],
    ['2026-06-01t10:00:00z', 'lower-case t and z'],
    ['2026-06-01T10:00:00.Z', 'an empty fraction'],
    ['2026-06-01T10:00:00.1234567890Z', 'ten fraction digits'],
    ['+012026-06-01T00:00:00Z', 'an expanded year'],
    ['２０２６-06-01T10:00:00Z', 'digits that are not ASCII'],
    [' 2026-06-01T10:00:00Z', 'surrounding space'],
  ])('refuses %s (%s) as not RFC 3339', (text) => {
    expect(at(text)).toMatch(/^refused: must be an RFC 3339 date-time/);
  });

  it.each([
    ['2026-02-29T00:00:00Z', 'no such date'],
    ['2100-02-29T00:00:00Z', 'no such date'],
    ['2026-13-01T00:00:00Z', 'no such date'],
    ['2026-04-31T00:00:00Z', 'no such date'],
    ['2026-06-01T24:00:00Z', 'no such time'],
    ['2026-06-01T23:59:60Z', 'no such time'],
    ['2026-06-01T10:00:00+24:00', 'no such UTC offset'],
    ['2026-06-01T10:00:00+01:60', 'no such UTC offset'],
  ])('refuses %s: %s', (text, reason) => {
    expect(at(text)).toContain(reason);
  });

  it('bounds the range in UTC, after the offset applies', () => {
    expect(at('1970-01-01T00:00:00.000Z')).toBe('1970-01-01T00:00:00.000Z');
    expect(at('1969-12-31T23:00:00-01:00')).toBe('1970-01-01T00:00:00.000Z');
    expect(at('9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z');
    expect(at('9999-12-31T23:59:59.999999Z')).toBe('9999-12-31T23:59:59.999Z');
    for (const outside of ['1969-12-31T23:59:59.999Z', '1970-01-01T00:59:59+01:00', '9999-12-31T23:59:59-01:00', '0000-01-01T00:00:00Z']) {
      expect(at(outside)).toMatch(/^refused: must lie within 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z/);
    }
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 1_780_000_000_000, {}, ['2026-06-01T10:00:00Z']]) expect(parseInstant(value).ok).toBe(false);
  });

  it('reads every accepted form as Date.parse does (the forms parse identically), and round-trips every instant of the range', () => {
    const offsetMinutes = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 });
    fc.assert(
      fc.property(fc.integer({ min: EARLIEST_INSTANT_MS, max: LATEST_INSTANT_MS }), offsetMinutes, fc.integer({ min: 0, max: 9 }), (ms, offset, digits) => {
        const local = new Date(ms + offset * 60_000);
        fc.pre(local.getUTCFullYear() >= 0 && local.getUTCFullYear() <= 9999);
        const fraction = digits === 0 ? '' : `.${`${local.toISOString().slice(20, 23)}999999`.slice(0, digits)}`;
        const abs = Math.abs(offset);
        const zone = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        const text = `${local.toISOString().slice(0, 19)}${fraction}${zone}`;
        const parsed = parseInstant(text);
        // Fewer than three digits name fewer milliseconds; more than three are dropped.
        const expectedMs = digits >= 3 ? ms : ms - ((ms % 1000) % 10 ** (3 - digits));
        expect([text, parsed.ok && parsed.at.getTime()]).toEqual([text, expectedMs]);
        expect([text, Date.parse(text)]).toEqual([text, expectedMs]);
      }),
      { numRuns: 2000 },
    );
  });
});
