import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../errors.js';

export type Schedule =
  | { kind: 'immediate' }
  | { kind: 'at'; runAt: string }
  | { kind: 'cron'; expression: string; timezone: string }
  | { kind: 'interval'; everyMs: number; startAt?: string };

export type ScheduleKind = Schedule['kind'];

export const MIN_INTERVAL_MS = 1000;

export function isRecurring(schedule: Schedule): boolean {
  return schedule.kind === 'cron' || schedule.kind === 'interval';
}

export function isValidTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The cron syntax we accept, in one line: shown to clients whose expression is rejected. */
export function describeCronSyntax(): string {
  return (
    '5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field; ' +
    'each field takes * (or ?), a number, a range (1-5), a step (*/15, 0-30/10) or a list (1,15,30); ' +
    'months JAN-DEC and weekdays SUN-SAT by name (0 and 7 are Sunday); ' +
    'L in day-of-month for the last day, 5L in day-of-week for the last Friday; 1#2 in day-of-week for the second Monday'
  );
}

/** Throws INVALID_CRON / INVALID_TIMEZONE / INVALID_SCHEDULE for a schedule that can never fire correctly. */
export function assertValidSchedule(schedule: Schedule, now: Date): void {
  switch (schedule.kind) {
    case 'immediate':
      return;
    case 'at':
      if (Number.isNaN(Date.parse(schedule.runAt))) {
        throw new ValidationError('INVALID_SCHEDULE', 'schedule.runAt is not a valid ISO-8601 timestamp', [
          { field: 'schedule.runAt', message: 'must be an ISO-8601 timestamp' },
        ]);
      }
      return;
    case 'interval':
      if (!Number.isInteger(schedule.everyMs) || schedule.everyMs < MIN_INTERVAL_MS) {
        throw new ValidationError('INVALID_SCHEDULE', `schedule.everyMs must be an integer ≥ ${MIN_INTERVAL_MS}`, [
          { field: 'schedule.everyMs', message: `must be an integer ≥ ${MIN_INTERVAL_MS}` },
        ]);
      }
      if (schedule.startAt !== undefined && Number.isNaN(Date.parse(schedule.startAt))) {
        throw new ValidationError('INVALID_SCHEDULE', 'schedule.startAt is not a valid ISO-8601 timestamp', [
          { field: 'schedule.startAt', message: 'must be an ISO-8601 timestamp' },
        ]);
      }
      return;
    case 'cron':
      assertValidCron(schedule.expression, schedule.timezone, now);
      return;
    default: {
      const _exhaustive: never = schedule;
      return _exhaustive;
    }
  }
}

function assertValidCron(expression: string, timezone: string, now: Date): void {
  if (!isValidTimezone(timezone)) {
    throw new ValidationError('INVALID_TIMEZONE', `"${timezone}" is not an IANA time zone`, [
      { field: 'schedule.timezone', message: 'must be an IANA time zone name such as Europe/Berlin' },
    ]);
  }
  const fields = cronFields(expression);
  const invalid = (reason: string) =>
    new ValidationError('INVALID_CRON', `invalid cron expression "${expression}": ${reason}`, [
      { field: 'schedule.expression', message: `${reason}; expected ${describeCronSyntax()}` },
    ]);
  if (fields.length !== 5 && fields.length !== 6) throw invalid(`has ${fields.length} fields`);
  // cron-parser's H picks a random value on every parse unless seeded, so the job would fire at a
  // different time after each fire.
  if (/(^|[\s,])h(?![a-z])/i.test(expression)) throw invalid('H (hashed values) is not supported');
  try {
    // An expression that parses but never matches (0 0 30 2 *) has no next instant within the search horizon.
    nextCronFire(expression, timezone, now);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
}

function cronFields(expression: string): string[] {
  return expression.trim().split(/\s+/);
}

/**
 * The first instant of the schedule strictly after `after`, or null when the schedule has no more.
 * `anchor` is when the job was created: an interval without startAt counts from it. Instants are computed
 * from the schedule itself, never from when the previous fire happened, so recurring jobs do not drift.
 */
export function nextInstant(schedule: Schedule, after: Date, anchor: Date): Date | null {
  switch (schedule.kind) {
    case 'immediate':
      return null;
    case 'at': {
      const at = new Date(schedule.runAt);
      return at.getTime() > after.getTime() ? at : null;
    }
    case 'cron':
      return nextCronFire(schedule.expression, schedule.timezone, after).at;
    case 'interval': {
      const start = schedule.startAt ? new Date(schedule.startAt).getTime() : anchor.getTime() + schedule.everyMs;
      if (after.getTime() < start) return new Date(start);
      const k = Math.floor((after.getTime() - start) / schedule.everyMs) + 1;
      return new Date(start + k * schedule.everyMs);
    }
    default: {
      const _exhaustive: never = schedule;
      return _exhaustive;
    }
  }
}

/**
 * The first instant of a newly created (or rescheduled) job: an `at` in the past still fires once, now;
 * a cron fires at its first match after now; an interval at its start (inclusive) or the first step after.
 */
export function firstInstant(schedule: Schedule, now: Date, anchor: Date): Date | null {
  switch (schedule.kind) {
    case 'at':
      return new Date(schedule.runAt);
    case 'immediate':
      return now;
    case 'cron':
      return nextInstant(schedule, now, anchor);
    case 'interval':
      return nextInstant(schedule, new Date(now.getTime() - 1), anchor);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Cron across DST transitions.
//
// cron-parser's own time-zone handling gets transitions wrong (it fires 02:30 at 03:30 in a gap, skips
// Lord Howe's half-hour gap entirely, fires stepped hours at hours they do not name, drops the second
// occurrence of a repeated hour for wildcard jobs, and throws "loop limit exceeded" for `0 * * * *` across
// Lord Howe's fall-back). So it is only asked the question it answers reliably: which local wall-clock
// times match, evaluated in UTC where there are no transitions. Mapping each wall-clock time to real
// instants is done here, with the zone's offsets from Intl.
//
// A wall-clock time is encoded as a number: the local date and time read as if they were UTC, in ms.
// ---------------------------------------------------------------------------------------------------------

/** The instant a zone's UTC offset changes, and the offsets on either side (ms, positive east of UTC). */
export interface ZoneTransition {
  at: Date;
  offsetBeforeMs: number;
  offsetAfterMs: number;
}

/** Why a cron instant is not simply its local time read in the zone. Local times are `YYYY-MM-DDTHH:mm:ss`. */
export type DstAdjustment =
  /** The local time does not exist (clocks went forward): a fixed-hour job fires at the end of the gap. */
  | { kind: 'skipped'; localTime: string; collapsed: boolean; transition: ZoneTransition }
  /**
   * The local time exists twice (clocks went back): a fixed-hour job fires only at the first occurrence,
   * a wildcard- or stepped-hour job at both.
   */
  | { kind: 'repeated'; localTime: string; occurrence: 'first' | 'second'; firesAtBoth: boolean; transition: ZoneTransition };

export interface CronFire {
  at: Date;
  /** Present when a DST transition decided this instant. */
  dst?: DstAdjustment;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** No zone moves its clocks back by more than this (most by 1 h, Antarctica/Troll by 2 h). */
const MAX_FALL_BACK_MS = 3 * HOUR_MS;

/**
 * The first fire of a cron expression strictly after `after`, following the DST contract:
 * - a fixed local time that does not exist fires once, at the first instant after the jump (all of the
 *   job's times inside one gap collapse into that one fire);
 * - a fixed local time that occurs twice fires once, at its first occurrence;
 * - a job whose hour field is a wildcard or a step fires at each real occurrence of a matching local time:
 *   nothing for times inside a gap, both occurrences of a repeated time.
 * Throws when the expression is invalid or never matches.
 */
export function nextCronFire(expression: string, timezone: string, after: Date): CronFire {
  const fixedHour = hasFixedHour(expression);
  const afterMs = after.getTime();
  let wallClocks = wallClockMatchesFrom(expression, earliestWallClockAfter(timezone, afterMs));
  let best: CronFire | null = null;
  for (;;) {
    const wall = wallClocks.next();
    const resolved = resolveWallClock(timezone, wall);
    if (resolved.kind === 'skipped' && !fixedHour) {
      // None of the gap's local times exist; carry on from the first local time after the gap.
      wallClocks = wallClockMatchesFrom(expression, resolved.transition.at.getTime() + resolved.transition.offsetAfterMs);
      continue;
    }
    for (const fire of firesAt(wall, resolved, fixedHour)) {
      if (fire.at.getTime() > afterMs && (best === null || fire.at < best.at)) best = fire;
    }
    // Later local times resolve to instants no earlier than this one's earliest, so none can beat `best`.
    if (best !== null && earliestInstant(resolved) >= best.at.getTime()) return withCollapse(best, expression, wall);
  }
}

/**
 * "Fixed local time" in the DST contract: the hour field names hours (a number, list or range), as in
 * Vixie cron; `*`, `?` or any step (`8-18/2`, every-second-hour) makes it a wildcard/stepped job.
 */
function hasFixedHour(expression: string): boolean {
  const fields = cronFields(expression);
  const hour = fields.length === 6 ? fields[2] : fields[1];
  return hour !== undefined && !/^[*?]/.test(hour) && !hour.includes('/');
}

/**
 * The earliest local time that a real instant after `afterMs` can show: the local time at `afterMs`,
 * unless the clocks go back shortly after it, in which case the repeated local times come round again.
 */
function earliestWallClockAfter(timezone: string, afterMs: number): number {
  return afterMs + Math.min(utcOffsetMs(timezone, afterMs), utcOffsetMs(timezone, afterMs + MAX_FALL_BACK_MS));
}

/** Matching local times, in order, from `fromWall` inclusive. cron-parser evaluates them in UTC, where none is skipped or repeated. */
function wallClockMatchesFrom(expression: string, fromWall: number): { next(): number } {
  // next() is strictly after currentDate, and currentDate is truncated to the second.
  const matches = CronExpressionParser.parse(expression, { currentDate: new Date(fromWall - 1), tz: 'UTC', strict: false });
  return { next: () => matches.next().getTime() };
}

type WallClockResolution =
  | { kind: 'unique'; at: number }
  | { kind: 'repeated'; first: number; second: number; transition: ZoneTransition }
  | { kind: 'skipped'; transition: ZoneTransition };

/** The real instants at which the zone's clocks show `wall`: one, two (clocks went back) or none (forward). */
function resolveWallClock(timezone: string, wall: number): WallClockResolution {
  // Any real instant showing `wall` lies within 14 h of it, so the offsets a day either side bracket
  // any transition nearby (zones do not change offset twice within two days).
  const offsetBefore = utcOffsetMs(timezone, wall - DAY_MS);
  const offsetAfter = utcOffsetMs(timezone, wall + DAY_MS);
  const early = wall - offsetBefore;
  const late = wall - offsetAfter;
  const earlyIsReal = utcOffsetMs(timezone, early) === offsetBefore;
  const lateIsReal = utcOffsetMs(timezone, late) === offsetAfter;
  if (offsetBefore === offsetAfter || (earlyIsReal && !lateIsReal)) return { kind: 'unique', at: early };
  if (lateIsReal && !earlyIsReal) return { kind: 'unique', at: late };
  if (earlyIsReal && lateIsReal) {
    return { kind: 'repeated', first: early, second: late, transition: transitionBetween(timezone, early, late) };
  }
  // In a gap the clocks jump over `wall`: `late` is still on the old offset, `early` already on the new one.
  return { kind: 'skipped', transition: transitionBetween(timezone, late, early) };
}

/** Binary search for the transition between two instants on different offsets; transitions fall on whole seconds. */
function transitionBetween(timezone: string, beforeMs: number, afterMs: number): ZoneTransition {
  const offsetBeforeMs = utcOffsetMs(timezone, beforeMs);
  const offsetAfterMs = utcOffsetMs(timezone, afterMs);
  let lo = Math.floor(beforeMs / 1000);
  let hi = Math.ceil(afterMs / 1000);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (utcOffsetMs(timezone, mid * 1000) === offsetBeforeMs) lo = mid;
    else hi = mid;
  }
  return { at: new Date(hi * 1000), offsetBeforeMs, offsetAfterMs };
}

function firesAt(wall: number, resolved: WallClockResolution, fixedHour: boolean): CronFire[] {
  const localTime = formatWallClock(wall);
  switch (resolved.kind) {
    case 'unique':
      return [{ at: new Date(resolved.at) }];
    case 'repeated': {
      const repeated = { kind: 'repeated', localTime, firesAtBoth: !fixedHour, transition: resolved.transition } as const;
      const first: CronFire = { at: new Date(resolved.first), dst: { ...repeated, occurrence: 'first' } };
      const second: CronFire = { at: new Date(resolved.second), dst: { ...repeated, occurrence: 'second' } };
      return fixedHour ? [first] : [first, second];
    }
    case 'skipped':
      return fixedHour ? [{ at: resolved.transition.at, dst: { kind: 'skipped', localTime, collapsed: false, transition: resolved.transition } }] : [];
  }
}

/** A lower bound for every instant that this or any later local time resolves to. */
function earliestInstant(resolved: WallClockResolution): number {
  switch (resolved.kind) {
    case 'unique':
      return resolved.at;
    case 'repeated':
      return resolved.first;
    case 'skipped':
      return resolved.transition.at.getTime();
  }
}

/**
 * Marks a gap fire whose job has further local times inside the same gap, which collapse into it.
 * `wall` is the local time the fire stands for: a gap fire is always the first of its gap's times to be seen.
 */
function withCollapse(fire: CronFire, expression: string, wall: number): CronFire {
  if (fire.dst?.kind !== 'skipped') return fire;
  const gapEnd = fire.dst.transition.at.getTime() + fire.dst.transition.offsetAfterMs;
  const collapsed = wallClockMatchesFrom(expression, wall + 1).next() < gapEnd;
  return { ...fire, dst: { ...fire.dst, collapsed } };
}

function formatWallClock(wall: number): string {
  return new Date(wall).toISOString().slice(0, 19);
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at an instant, in ms (positive east of UTC), to the second. */
function utcOffsetMs(timezone: string, instantMs: number): number {
  let formatter = offsetFormatters.get(timezone);
  if (formatter === undefined) {
    // Building a formatter costs far more than using one, and this runs several times per cron fire.
    formatter = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' });
    offsetFormatters.set(timezone, formatter);
  }
  const name = formatter.formatToParts(instantMs).find((part) => part.type === 'timeZoneName')?.value ?? '';
  // "GMT" for a zero offset, else "GMT+05:30", or "GMT+00:53:28" for historical local mean time.
  const match = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(name);
  if (match === null) throw new Error(`unexpected UTC offset "${name}" for ${timezone}`);
  const [, sign, hours = '0', minutes = '0', seconds = '0'] = match;
  const magnitude = ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
  return sign === '-' ? -magnitude : magnitude;
}
