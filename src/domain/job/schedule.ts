import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../errors.js';
import { isWithinInstantRange, LATEST_INSTANT_MS, parseInstant } from '../instant.js';

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
      assertInstant(schedule.runAt, 'schedule.runAt');
      return;
    case 'interval':
      if (!Number.isInteger(schedule.everyMs) || schedule.everyMs < MIN_INTERVAL_MS) {
        throw new ValidationError('INVALID_SCHEDULE', `schedule.everyMs must be an integer ≥ ${MIN_INTERVAL_MS}`, [
          { field: 'schedule.everyMs', message: `must be an integer ≥ ${MIN_INTERVAL_MS}` },
        ]);
      }
      if (schedule.startAt !== undefined) assertInstant(schedule.startAt, 'schedule.startAt');
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

function assertInstant(text: string, field: string): void {
  const parsed = parseInstant(text);
  if (!parsed.ok) throw new ValidationError('INVALID_SCHEDULE', `${field} ${parsed.reason}`, [{ field, message: parsed.reason }]);
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
    compileCron(expression);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
  if (nextCronFire(expression, timezone, now) === null) {
    throw invalid(
      `no instant found within the search budget (${CRON_SEARCH_BUDGET.localTimes} matching local times, ${CRON_SEARCH_BUDGET.days} days) before 9999-12-31: ` +
        'its local times never occur in this zone (they fall in DST gaps) or never match',
    );
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
      return at.getTime() > after.getTime() && isWithinInstantRange(at.getTime()) ? at : null;
    }
    case 'cron':
      return nextCronFire(schedule.expression, schedule.timezone, after)?.at ?? null;
    case 'interval': {
      const start = schedule.startAt ? new Date(schedule.startAt).getTime() : anchor.getTime() + schedule.everyMs;
      const k = after.getTime() < start ? 0 : Math.floor((after.getTime() - start) / schedule.everyMs) + 1;
      const next = start + k * schedule.everyMs;
      // Beyond the range every store holds, the schedule has no more instants.
      return isWithinInstantRange(next) ? new Date(next) : null;
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
// Lord Howe's fall-back), and its iteration is slow. So it only parses the expression; which local
// wall-clock times match is evaluated here in a UTC frame, where there are no transitions, and each
// wall-clock time is mapped to real instants with the zone's offsets from Intl.
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
 * What one next-fire search may examine: matching local times (each costs a few offset look-ups) and
 * calendar days of the months the expression names. The budget counts work, not time, so that a decision
 * repeated gives the same answer (the decider is pure; a wall-clock budget would make it depend on the
 * machine). The sparsest real schedules stay far inside it (the fifth Monday of February comes 40 years
 * apart: about 1,200 days of February); one whose every local time falls in a DST gap spends it at once.
 */
export const CRON_SEARCH_BUDGET = { localTimes: 16, days: 40_000 } as const;

interface SearchBudget {
  localTimes: number;
  days: number;
}

/**
 * The first fire of a cron expression strictly after `after`, following the DST contract:
 * - a fixed local time that does not exist fires once, at the first instant after the jump (all of the
 *   job's times inside one gap collapse into that one fire);
 * - a fixed local time that occurs twice fires once, at its first occurrence;
 * - a job whose hour field is a wildcard or a step fires at each real occurrence of a matching local time:
 *   nothing for times inside a gap, both occurrences of a repeated time.
 * Null when there is none within CRON_SEARCH_BUDGET or before the end of the instant range: the schedule
 * has no more instants. Throws when the expression does not parse.
 */
export function nextCronFire(expression: string, timezone: string, after: Date): CronFire | null {
  const cron = compileCron(expression);
  const fixedHour = hasFixedHour(expression);
  const afterMs = after.getTime();
  const budget: SearchBudget = { ...CRON_SEARCH_BUDGET };
  const ahead = firstFireFrom(cron, fixedHour, timezone, afterMs, afterMs + utcOffsetMs(timezone, afterMs), budget);
  const again = fixedHour ? null : repeatedTimeComingRound(cron, timezone, afterMs, budget);
  const best = again !== null && (ahead === null || again.at < ahead.at) ? again : ahead;
  return best && withinRange(best);
}

/** The first fire after `afterMs` among the local times from `fromWall` (the local time at `afterMs`) on. */
function firstFireFrom(cron: CompiledCron, fixedHour: boolean, timezone: string, afterMs: number, fromWall: number, budget: SearchBudget): CronFire | null {
  let wallClocks = wallClockMatches(cron, fromWall, budget);
  let best: CronFire | null = null;
  while (budget.localTimes-- > 0) {
    const { value: wall, done } = wallClocks.next();
    if (done) break;
    const resolved = resolveWallClock(timezone, wall);
    if (resolved.kind === 'skipped' && !fixedHour) {
      // None of the gap's local times exist; carry on from the first local time after the gap.
      wallClocks = wallClockMatches(cron, resolved.transition.at.getTime() + resolved.transition.offsetAfterMs, budget);
      continue;
    }
    if (resolved.kind === 'repeated' && fixedHour && afterMs >= resolved.transition.at.getTime()) {
      // `afterMs` is in the second pass of a repeated span, whose times a fixed hour ran in the first: carry on after it.
      wallClocks = wallClockMatches(cron, resolved.transition.at.getTime() + resolved.transition.offsetBeforeMs, budget);
      continue;
    }
    for (const fire of firesAt(wall, resolved, fixedHour)) {
      if (fire.at.getTime() > afterMs && (best === null || fire.at < best.at)) best = fire;
    }
    // Later local times resolve to instants no earlier than this one's earliest, so none can beat `best`.
    if (best !== null && earliestInstant(resolved) >= best.at.getTime()) return withCollapse(best, cron, wall, budget);
  }
  return best;
}

/**
 * When the clocks go back within MAX_FALL_BACK_MS after `afterMs`, the repeated local times the clocks
 * showed up to then come round again: a wildcard or stepped hour fires at the second occurrence of the
 * first of them that matches. (Those from the local time at `afterMs` on are found by firstFireFrom.)
 */
function repeatedTimeComingRound(cron: CompiledCron, timezone: string, afterMs: number, budget: SearchBudget): CronFire | null {
  const offsetNow = utcOffsetMs(timezone, afterMs);
  const offsetSoon = utcOffsetMs(timezone, afterMs + MAX_FALL_BACK_MS);
  if (offsetSoon >= offsetNow || budget.localTimes-- <= 0) return null;
  const transition = transitionBetween(timezone, afterMs, afterMs + MAX_FALL_BACK_MS);
  const spanStart = transition.at.getTime() + offsetSoon;
  const searchedAhead = Math.min(afterMs + offsetNow, transition.at.getTime() + offsetNow);
  const { value: wall, done } = wallClockMatches(cron, spanStart, budget).next();
  if (done || wall >= searchedAhead) return null;
  const resolved = resolveWallClock(timezone, wall);
  return resolved.kind === 'repeated' ? firesAt(wall, resolved, false)[1]! : null;
}

const withinRange = (fire: CronFire): CronFire | null => (fire.at.getTime() <= LATEST_INSTANT_MS ? fire : null);

/**
 * "Fixed local time" in the DST contract: the hour field names hours (a number, list or range), as in
 * Vixie cron; `*`, `?` or any step (`8-18/2`, every-second-hour) makes it a wildcard/stepped job.
 */
function hasFixedHour(expression: string): boolean {
  const fields = cronFields(expression);
  const hour = fields.length === 6 ? fields[2] : fields[1];
  return hour !== undefined && !/^[*?]/.test(hour) && !hour.includes('/');
}

/** Which local times a cron expression matches: its values per field, and its rule for days. */
interface CompiledCron {
  seconds: readonly number[];
  minutes: readonly number[];
  hours: readonly number[];
  months: ReadonlySet<number>;
  matchesDay(year: number, month: number, day: number): boolean;
}

const compiledCrons = new Map<string, CompiledCron>();

/**
 * cron-parser parses the expression (and refuses what it cannot read); the matching is done here, with the
 * same day rules, over plain numbers. cron-parser's own iteration steps a time-zone-aware date one unit at
 * a time, costing milliseconds per year searched, which a sparse schedule's preview multiplied into seconds.
 */
function compileCron(expression: string): CompiledCron {
  const cached = compiledCrons.get(expression);
  if (cached) return cached;
  const { fields } = CronExpressionParser.parse(expression, { currentDate: new Date(0), tz: 'UTC', strict: false });
  const values = (field: { values: readonly unknown[] }) => field.values as readonly (number | string)[];
  const numbers = (field: { values: readonly unknown[] }) => values(field).filter((value): value is number => typeof value === 'number');
  const daysOfMonth = new Set(numbers(fields.dayOfMonth));
  const daysOfWeek = new Set(numbers(fields.dayOfWeek));
  // `5L`: the last Friday of the month.
  const lastWeekdays = new Set(values(fields.dayOfWeek).filter((value) => typeof value === 'string').map((value) => parseInt(String(value).charAt(0), 10) % 7));
  const { nthDay } = fields.dayOfWeek;
  const dayOfMonthIsWildcard = fields.dayOfMonth.isWildcard;
  const dayOfWeekIsWildcard = fields.dayOfWeek.isWildcard;
  const lastDayOfMonth = fields.dayOfMonth.hasLastChar;
  const lastWeekdayOfMonth = fields.dayOfWeek.hasLastChar;
  const compiled: CompiledCron = {
    seconds: numbers(fields.second),
    minutes: numbers(fields.minute),
    hours: numbers(fields.hour),
    months: new Set(numbers(fields.month)),
    // cron-parser's rule (Vixie cron's): when both day fields are restricted, either may match.
    matchesDay(year, month, day) {
      const lastDay = daysInMonth(year, month);
      const weekday = (((Math.floor(Date.UTC(year, month - 1, day) / DAY_MS) + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
      const dayOfMonthMatches = daysOfMonth.has(day) || (lastDayOfMonth && day === lastDay);
      const dayOfWeekMatches =
        (daysOfWeek.has(weekday) && (nthDay <= 0 || Math.ceil(day / 7) === nthDay)) || (lastWeekdayOfMonth && day > lastDay - 7 && lastWeekdays.has(weekday));
      if (!dayOfMonthIsWildcard && !dayOfWeekIsWildcard) return dayOfMonthMatches || dayOfWeekMatches;
      return dayOfWeekIsWildcard ? dayOfMonthMatches : dayOfWeekMatches;
    },
  };
  // Compiling is pure; the cache only spares repeated parses (a preview or a catch-up searches the same expression many times).
  if (compiledCrons.size >= 10_000) compiledCrons.clear();
  compiledCrons.set(expression, compiled);
  return compiled;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/** Past this year no local time can show an instant of the range (local times run at most 14 h ahead of UTC). */
const LAST_WALL_CLOCK_YEAR = 10_000;

/**
 * Matching local times, in order, from `fromWall` inclusive, evaluated in UTC where none is skipped or
 * repeated. Each day examined (in a month the expression names) spends one of the budget's days; the
 * sequence ends when they are spent or past the range.
 */
function* wallClockMatches(cron: CompiledCron, fromWall: number, budget: SearchBudget): Generator<number, void, undefined> {
  const from = new Date(fromWall);
  let [year, month, day] = [from.getUTCFullYear(), from.getUTCMonth() + 1, from.getUTCDate()];
  while (year <= LAST_WALL_CLOCK_YEAR) {
    if (!cron.months.has(month) || day > daysInMonth(year, month)) {
      [year, month, day] = month === 12 ? [year + 1, 1, 1] : [year, month + 1, 1];
      continue;
    }
    if (budget.days-- <= 0) return;
    if (cron.matchesDay(year, month, day)) {
      const midnight = Date.UTC(year, month - 1, day);
      for (const hour of cron.hours) {
        const hourStart = midnight + hour * HOUR_MS;
        if (hourStart + HOUR_MS <= fromWall) continue;
        for (const minute of cron.minutes) {
          const minuteStart = hourStart + minute * 60_000;
          if (minuteStart + 60_000 <= fromWall) continue;
          for (const second of cron.seconds) {
            const wall = minuteStart + second * 1000;
            if (wall >= fromWall) yield wall;
          }
        }
      }
    }
    day++;
  }
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
  // The searches near one transition (a preview across it, a catch-up) find it again and again.
  const known = knownTransitions.get(timezone) ?? [];
  const found = known.find((t) => t.at.getTime() > beforeMs && t.at.getTime() <= afterMs && t.offsetBeforeMs === offsetBeforeMs && t.offsetAfterMs === offsetAfterMs);
  if (found) return found;
  const transition = searchTransition(timezone, beforeMs, afterMs, offsetBeforeMs, offsetAfterMs);
  knownTransitions.set(timezone, [transition, ...known.slice(0, 63)]);
  return transition;
}

const knownTransitions = new Map<string, ZoneTransition[]>();

function searchTransition(timezone: string, beforeMs: number, afterMs: number, offsetBeforeMs: number, offsetAfterMs: number): ZoneTransition {
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
function withCollapse(fire: CronFire, cron: CompiledCron, wall: number, budget: SearchBudget): CronFire {
  if (fire.dst?.kind !== 'skipped') return fire;
  const gapEnd = fire.dst.transition.at.getTime() + fire.dst.transition.offsetAfterMs;
  const next = wallClockMatches(cron, wall + 1, budget).next();
  return { ...fire, dst: { ...fire.dst, collapsed: !next.done && next.value < gapEnd } };
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
