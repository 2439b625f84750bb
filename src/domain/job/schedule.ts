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
  const fields = expression.trim().split(/\s+/);
  const invalid = (reason: string) =>
    new ValidationError('INVALID_CRON', `invalid cron expression "${expression}": ${reason}`, [
      {
        field: 'schedule.expression',
        message: `${reason}; expected 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field`,
      },
    ]);
  if (fields.length !== 5 && fields.length !== 6) throw invalid(`has ${fields.length} fields`);
  try {
    // An expression that parses but never matches (0 0 30 2 *) has no next instant within the search horizon.
    nextCronInstant(expression, timezone, now);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
}

function nextCronInstant(expression: string, timezone: string, after: Date): Date {
  const cron = CronExpressionParser.parse(expression, { currentDate: after, tz: timezone, strict: false });
  return cron.next().toDate();
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
      return nextCronInstant(schedule.expression, schedule.timezone, after);
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
