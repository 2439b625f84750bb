/**
 * Instants: the one parser of every timestamp a client sends, and the range every instant Chronos stores
 * or computes stays within.
 *
 * Accepted: RFC 3339 date-times, `YYYY-MM-DDTHH:mm:ss[.fraction](Z|±hh:mm)`, upper-case `T` and `Z`, a
 * fraction of 1 to 9 digits (milliseconds are kept, further digits dropped). Everything else ISO 8601 allows
 * (week and ordinal dates, the basic format, reduced precision, comma fractions, `+01` offsets, local times
 * without an offset, leap seconds, years beyond 9999) is refused: those forms are read differently, or not
 * at all, by `Date`, PostgreSQL and the clients Chronos serves.
 *
 * The range, in UTC and after the offset applies: 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z.
 * Every store holds it (PostgreSQL `timestamptz`, the ISO strings of events and CloudEvents, which have four
 * digits of year, and Unix seconds in signatures), and so does every instant the domain computes from it:
 * a schedule whose next instant would fall beyond it has no next instant.
 */
export const EARLIEST_INSTANT_MS = Date.UTC(1970, 0, 1);
export const LATEST_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export const INSTANT_FORMAT = 'an RFC 3339 date-time with Z or ±hh:mm, such as 2026-11-22T09:00:00Z';
export const INSTANT_RANGE = '1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z';

export type ParsedInstant = { ok: true; at: Date } | { ok: false; reason: string };

const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** The instant `text` names, or why it is not one Chronos accepts. */
export function parseInstant(text: unknown): ParsedInstant {
  if (typeof text !== 'string') return { ok: false, reason: `must be ${INSTANT_FORMAT}` };
  const match = RFC_3339.exec(text);
  if (!match) return { ok: false, reason: `must be ${INSTANT_FORMAT}` };
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = match[7] ?? '';
  const [sign, offsetHours, offsetMinutes] = [match[8], Number(match[9] ?? 0), Number(match[10] ?? 0)];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return { ok: false, reason: `has no such date: ${text.slice(0, 10)}` };
  if (hour > 23 || minute > 59 || second > 59) return { ok: false, reason: `has no such time of day: ${text.slice(11, 19)} (00:00:00 to 23:59:59)` };
  if (offsetHours > 23 || offsetMinutes > 59) return { ok: false, reason: 'has no such UTC offset (-23:59 to +23:59)' };
  const offsetMs = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  const ms = utcMs(year, month, day, hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3))) - offsetMs;
  if (!isWithinInstantRange(ms)) return { ok: false, reason: `must lie within ${INSTANT_RANGE} once its offset applies` };
  return { ok: true, at: new Date(ms) };
}

/** The instant of text the edge has validated already; anything else is a defect, not bad input. */
export function toInstant(text: string): Date {
  const parsed = parseInstant(text);
  if (!parsed.ok) throw new Error(`not an instant of Chronos: ${parsed.reason}`);
  return parsed.at;
}

/** Whether an instant (ms since the epoch) lies within the range every store holds. */
export function isWithinInstantRange(ms: number): boolean {
  return ms >= EARLIEST_INSTANT_MS && ms <= LATEST_INSTANT_MS;
}

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** Date.UTC without its reading of years 0 to 99 as 1900 to 1999. */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}
