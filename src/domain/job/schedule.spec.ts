import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { ValidationError } from '../errors.js';
import { LATEST_INSTANT_MS } from '../instant.js';
import { defaultRetryPolicy, withDefaults } from './job-spec.js';
import { decide, MAX_INSTANTS_PER_DECISION } from './job.decide.js';
import type { JobEvent } from './job.events.js';
import { fold } from './job.state.js';
import { describeCronSyntax, MAX_PREVIEW_COUNT, previewInstants } from './schedule-preview.js';
import { assertValidSchedule, CRON_SEARCH_BUDGET, firstInstant, nextCronFire, nextInstant, type Schedule } from './schedule.js';

const NOW = new Date('2026-06-01T10:00:00.000Z');
const cron = (expression: string, timezone = 'UTC'): Schedule => ({ kind: 'cron', expression, timezone });

function validationCode(schedule: Schedule): string | null {
  try {
    assertValidSchedule(schedule, NOW);
    return null;
  } catch (error) {
    if (error instanceof ValidationError) return error.code;
    throw error;
  }
}

describe('assertValidSchedule: cron', () => {
  it.each([
    ['0 0 30 2 *', 'February 30th never exists'],
    ['0 0 31 4 *', 'April has 30 days'],
    ['61 * * * *', 'minute out of range'],
    ['0 24 * * *', 'hour out of range'],
    ['*/0 * * * *', 'zero step'],
    ['* * * *', '4 fields'],
    ['0 0 0 * * * *', '7 fields'],
    ['', 'no fields'],
    ['a b c d e', 'not numbers'],
    ['0 0 15W * *', 'W is not supported'],
    ['H H * * *', 'H is random per parse'],
    ['0 H(0-5) * * *', 'H with a range'],
  ])('rejects %j (%s) as INVALID_CRON', (expression) => {
    expect(validationCode(cron(expression))).toBe('INVALID_CRON');
  });

  it.each([
    ['*/5 * * * *', '5 fields'],
    ['30 */5 * * * *', '6 fields with seconds'],
    ['0 9 * * MON-FRI', 'weekday names'],
    ['0 9 * * THU', 'a weekday name containing H'],
    ['0 0 1 JAN,JUL *', 'month names'],
    ['0 0 29 2 *', 'February 29th, which exists in leap years'],
    ['0 0 L * *', 'the last day of the month'],
    ['0 0 * * 5L', 'the last Friday'],
    ['0 0 * * 1#2', 'the second Monday'],
    ['0 12 ? * *', '? for any'],
  ])('accepts %j (%s)', (expression) => {
    expect(validationCode(cron(expression, 'Europe/Berlin'))).toBeNull();
  });

  it('rejects an unknown zone as INVALID_TIMEZONE', () => {
    expect(validationCode(cron('0 * * * *', 'Mars/Olympus_Mons'))).toBe('INVALID_TIMEZONE');
    expect(validationCode(cron('0 * * * *', ''))).toBe('INVALID_TIMEZONE');
  });

  it('tells the client which syntax is accepted', () => {
    expect(() => assertValidSchedule(cron('0 0 30 2 *'), NOW)).toThrow(
      expect.objectContaining({ errors: [{ field: 'schedule.expression', message: expect.stringContaining(describeCronSyntax()) }] }),
    );
  });
});

describe('describeCronSyntax', () => {
  it('is one line naming the field counts and the special characters', () => {
    const syntax = describeCronSyntax();
    expect(syntax).not.toContain('\n');
    for (const part of ['5 fields', '6 with a leading seconds field', 'range', 'step', 'list', 'JAN', 'SUN', 'L', '#']) {
      expect(syntax).toContain(part);
    }
  });
});

describe('nextInstant: cron', () => {
  it('L is the last day of each month, in the zone', () => {
    // Midnight Europe/Berlin on Jun 30 (CEST, +2) and Jul 31 (CEST): 22:00Z the day before.
    const schedule = cron('0 0 L * *', 'Europe/Berlin');
    const first = nextInstant(schedule, NOW, NOW)!;
    expect(first.toISOString()).toBe('2026-06-29T22:00:00.000Z');
    expect(nextInstant(schedule, first, NOW)!.toISOString()).toBe('2026-07-30T22:00:00.000Z');
  });

  it('5L is the last Friday and 1#2 the second Monday of the month', () => {
    // June 2026: Fridays 5, 12, 19, 26; Mondays 1, 8, 15. 09:00 UTC.
    expect(nextInstant(cron('0 9 * * 5L'), NOW, NOW)!.toISOString()).toBe('2026-06-26T09:00:00.000Z');
    expect(nextInstant(cron('0 9 * * 1#2'), NOW, NOW)!.toISOString()).toBe('2026-06-08T09:00:00.000Z');
  });

  it('is strictly after `after`, with a seconds field', () => {
    expect(nextInstant(cron('*/10 * * * * *'), new Date('2026-06-01T10:00:10.000Z'), NOW)!.toISOString()).toBe('2026-06-01T10:00:20.000Z');
    expect(nextInstant(cron('*/10 * * * * *'), new Date('2026-06-01T10:00:10.001Z'), NOW)!.toISOString()).toBe('2026-06-01T10:00:20.000Z');
    expect(nextInstant(cron('*/10 * * * * *'), new Date('2026-06-01T10:00:09.999Z'), NOW)!.toISOString()).toBe('2026-06-01T10:00:10.000Z');
  });

  it('reads the expression in the zone: 09:00 New York is 13:00Z in summer, 14:00Z in winter', () => {
    expect(nextInstant(cron('0 9 * * *', 'America/New_York'), NOW, NOW)!.toISOString()).toBe('2026-06-01T13:00:00.000Z');
    expect(nextInstant(cron('0 9 * * *', 'America/New_York'), new Date('2026-12-01T00:00:00Z'), NOW)!.toISOString()).toBe('2026-12-01T14:00:00.000Z');
  });
});

describe('interval', () => {
  const every = 90_000;
  const startAt = '2026-06-01T10:00:00.000Z';
  const start = Date.parse(startAt);
  const schedule: Schedule = { kind: 'interval', everyMs: every, startAt };

  it('is anchored at start + k·every however late the previous fire was', () => {
    // A fire that ran 37 s late must not push the next instant back by 37 s.
    const lateFire = new Date(start + 3 * every + 37_000);
    expect(nextInstant(schedule, lateFire, NOW)!.getTime()).toBe(start + 4 * every);
    // Many steps on, still on the grid.
    const muchLater = new Date(start + 10_000 * every + 1);
    expect(nextInstant(schedule, muchLater, NOW)!.getTime()).toBe(start + 10_001 * every);
  });

  it('steps exactly on the grid, strictly after `after`', () => {
    expect(nextInstant(schedule, new Date(start + 2 * every), NOW)!.getTime()).toBe(start + 3 * every);
  });

  it('fires first at startAt itself, or at the first step after now when startAt is past', () => {
    expect(firstInstant(schedule, new Date(start), NOW)!.getTime()).toBe(start);
    expect(firstInstant(schedule, new Date(start - 5_000), NOW)!.getTime()).toBe(start);
    expect(firstInstant(schedule, new Date(start + every + 1), NOW)!.getTime()).toBe(start + 2 * every);
  });

  it('without startAt counts from the anchor (creation), one step after it', () => {
    const anchor = new Date('2026-06-01T10:00:00.000Z');
    const noStart: Schedule = { kind: 'interval', everyMs: every };
    expect(firstInstant(noStart, anchor, anchor)!.getTime()).toBe(anchor.getTime() + every);
    expect(nextInstant(noStart, new Date(anchor.getTime() + 5 * every + 1), anchor)!.getTime()).toBe(anchor.getTime() + 6 * every);
  });

  it('rejects steps below a second and non-integers', () => {
    expect(validationCode({ kind: 'interval', everyMs: 999 })).toBe('INVALID_SCHEDULE');
    expect(validationCode({ kind: 'interval', everyMs: 1500.5 })).toBe('INVALID_SCHEDULE');
    expect(validationCode({ kind: 'interval', everyMs: 1000, startAt: 'tomorrow' })).toBe('INVALID_SCHEDULE');
  });
});

describe('at', () => {
  const past: Schedule = { kind: 'at', runAt: '2026-05-31T10:00:00.000Z' };
  const future: Schedule = { kind: 'at', runAt: '2026-06-02T10:00:00.000Z' };

  it('in the past still fires once: its first instant is its own time, and there is no next', () => {
    expect(firstInstant(past, NOW, NOW)!.toISOString()).toBe('2026-05-31T10:00:00.000Z');
    expect(nextInstant(past, NOW, NOW)).toBeNull();
  });

  it('in the future fires at its time, once', () => {
    expect(firstInstant(future, NOW, NOW)!.toISOString()).toBe('2026-06-02T10:00:00.000Z');
    expect(nextInstant(future, new Date(future.runAt), NOW)).toBeNull();
  });

  it('rejects a runAt that is not a timestamp', () => {
    expect(validationCode({ kind: 'at', runAt: 'soon' })).toBe('INVALID_SCHEDULE');
  });
});

describe('previewInstants', () => {
  const preview = (schedule: Schedule, after: string, count: number) =>
    previewInstants(schedule, { after: new Date(after), anchor: new Date(after), count });

  it('lists the next instants, without notes on ordinary days', () => {
    expect(preview(cron('0 9 * * *', 'Europe/Berlin'), '2026-06-01T00:00:00Z', 2)).toEqual([
      { at: '2026-06-01T07:00:00.000Z' },
      { at: '2026-06-02T07:00:00.000Z' },
    ]);
  });

  it('notes a fixed time moved out of the spring gap', () => {
    expect(preview(cron('30 2 * * *', 'Europe/Berlin'), '2026-03-28T12:00:00Z', 2)).toEqual([
      {
        at: '2026-03-29T01:00:00.000Z',
        note: 'Europe/Berlin skips 02:00–03:00 on 2026-03-29 (clocks go forward 1 h): 02:30 runs at 03:00 CEST',
      },
      { at: '2026-03-30T00:30:00.000Z' },
    ]);
  });

  it('notes several gap times collapsing into one fire', () => {
    expect(preview(cron('0,30 2 * * *', 'Europe/Berlin'), '2026-03-28T12:00:00Z', 1)).toEqual([
      {
        at: '2026-03-29T01:00:00.000Z',
        note: "Europe/Berlin skips 02:00–03:00 on 2026-03-29 (clocks go forward 1 h): 02:00 and the job's later times before 03:00 run once, at 03:00 CEST",
      },
    ]);
  });

  it('notes a fixed time that occurs twice running at its first occurrence', () => {
    expect(preview(cron('30 1 * * *', 'America/New_York'), '2026-10-31T12:00:00Z', 2)).toEqual([
      {
        at: '2026-11-01T05:30:00.000Z',
        note: 'America/New_York repeats 01:00–02:00 on 2026-11-01 (clocks go back 1 h): 01:30 runs once, at its first occurrence (EDT)',
      },
      { at: '2026-11-02T06:30:00.000Z' },
    ]);
  });

  it('notes both occurrences of a repeated time for a wildcard hour', () => {
    expect(preview(cron('0 * * * *', 'Europe/Berlin'), '2026-10-24T23:30:00Z', 3)).toEqual([
      {
        at: '2026-10-25T00:00:00.000Z',
        note: 'Europe/Berlin repeats 02:00–03:00 on 2026-10-25 (clocks go back 1 h): 02:00 runs at both occurrences; this is the first (CEST)',
      },
      {
        at: '2026-10-25T01:00:00.000Z',
        note: 'Europe/Berlin repeats 02:00–03:00 on 2026-10-25 (clocks go back 1 h): 02:00 runs at both occurrences; this is the second (CET)',
      },
      { at: '2026-10-25T02:00:00.000Z' },
    ]);
  });

  it('describes half-hour transitions (Lord Howe)', () => {
    expect(preview(cron('15 2 * * *', 'Australia/Lord_Howe'), '2026-10-03T00:00:00Z', 1)).toEqual([
      {
        at: '2026-10-03T15:30:00.000Z',
        note: 'Australia/Lord_Howe skips 02:00–02:30 on 2026-10-04 (clocks go forward 30 min): 02:15 runs at 02:30 GMT+11',
      },
    ]);
  });

  it('lists interval steps from the schedule, and caps the count', () => {
    const schedule: Schedule = { kind: 'interval', everyMs: 60_000, startAt: '2026-06-01T10:00:30.000Z' };
    expect(preview(schedule, '2026-06-01T10:00:00Z', 3).map((item) => item.at)).toEqual([
      '2026-06-01T10:00:30.000Z',
      '2026-06-01T10:01:30.000Z',
      '2026-06-01T10:02:30.000Z',
    ]);
    expect(preview(schedule, '2026-06-01T10:00:00Z', 1000)).toHaveLength(MAX_PREVIEW_COUNT);
    expect(preview(schedule, '2026-06-01T10:00:00Z', 0)).toEqual([]);
  });

  it('has one item for an `at` still ahead, none for one past or for an immediate job', () => {
    expect(preview({ kind: 'at', runAt: '2026-06-02T10:00:00.000Z' }, '2026-06-01T10:00:00Z', 10)).toEqual([{ at: '2026-06-02T10:00:00.000Z' }]);
    expect(preview({ kind: 'at', runAt: '2026-05-31T10:00:00.000Z' }, '2026-06-01T10:00:00Z', 10)).toEqual([]);
    expect(preview({ kind: 'immediate' }, '2026-06-01T10:00:00Z', 10)).toEqual([]);
  });
});

/** Expressions whose every local time falls in a DST gap (stepped hours do not move out of it): no real instant. */
const GAP_ONLY: [string, string][] = [
  ['30 2-2/1 * 3 0L', 'Europe/Berlin'],
  ['0,30 2-2/1 * 3 0L', 'Europe/Berlin'],
  [`${Array.from({ length: 60 }, (_, i) => i).join(',')} 2-2/1 * 3 0L`, 'Europe/Berlin'],
  ['15 2-2/1 * 10 0#1', 'Australia/Lord_Howe'],
  ['30 2-2/1 * 3 0#2', 'America/New_York'],
];

describe('the cron search budget', () => {
  it.each(GAP_ONLY)('%s in %s has no instant: the search ends within its budget, and the schedule is INVALID_CRON', (expression, timezone) => {
    expect(nextCronFire(expression, timezone, NOW)).toBeNull();
    expect(validationCode(cron(expression, timezone))).toBe('INVALID_CRON');
    expect(previewInstants(cron(expression, timezone), { after: NOW, anchor: NOW, count: 100 })).toEqual([]);
  });

  it('the same expressions with a fixed hour fire at the end of each gap, as the DST contract says', () => {
    expect(nextCronFire('30 2 * 3 0L', 'Europe/Berlin', NOW)?.at.toISOString()).toBe('2027-03-28T01:00:00.000Z');
  });

  it('finds the sparsest real schedules: the fifth Monday of February, 28 to 40 years apart', () => {
    const items = previewInstants(cron('0 0 * 2 1#5'), { after: NOW, anchor: NOW, count: 4 });
    expect(items.map((item) => item.at)).toEqual(['2044-02-29T00:00:00.000Z', '2072-02-29T00:00:00.000Z', '2112-02-29T00:00:00.000Z', '2140-02-29T00:00:00.000Z']);
  });

  it('is counted in work, not time: the same search gives the same answer every time', () => {
    const answers = new Set(Array.from({ length: 20 }, () => JSON.stringify(nextCronFire('30 2-2/1 * 3 0L', 'Europe/Berlin', NOW))));
    expect([...answers]).toEqual(['null']);
    expect(CRON_SEARCH_BUDGET).toEqual({ localTimes: 16, days: 40_000 });
  });

  it('a preview of a sparse schedule stops at the end of the range (9999-12-31)', () => {
    const items = previewInstants(cron('0 0 29 2 *'), { after: new Date('9980-01-01T00:00:00Z'), anchor: NOW, count: 100 });
    expect(items.map((item) => item.at)).toEqual(['9980-02-29T00:00:00.000Z', '9984-02-29T00:00:00.000Z', '9988-02-29T00:00:00.000Z', '9992-02-29T00:00:00.000Z', '9996-02-29T00:00:00.000Z']);
    expect(nextCronFire('59 59 23 31 12 *', 'Etc/GMT+12', new Date('9999-12-31T00:00:00Z'))).toBeNull(); // 9999-12-31T23:59:59 at UTC-12 is in 10000
    expect(nextCronFire('59 59 23 31 12 *', 'Etc/GMT-12', new Date('9999-12-31T00:00:00Z'))?.at.toISOString()).toBe('9999-12-31T11:59:59.000Z');
  });
});

describe('no instant beyond the range', () => {
  it('an interval whose next step would pass 9999-12-31T23:59:59.999Z has no next instant', () => {
    const schedule: Schedule = { kind: 'interval', everyMs: 366 * 86_400_000, startAt: '9999-06-01T00:00:00.000Z' };
    expect(nextInstant(schedule, new Date('9999-06-01T00:00:00.000Z'), NOW)).toBeNull();
    expect(firstInstant(schedule, new Date('9999-06-02T00:00:00.000Z'), NOW)).toBeNull();
    expect(nextInstant(schedule, NOW, NOW)?.toISOString()).toBe('9999-06-01T00:00:00.000Z');
  });

  it('an `at` beyond the range (only an old log can hold one) is no instant', () => {
    expect(nextInstant({ kind: 'at', runAt: '+010000-01-01T00:59:59.000Z' }, NOW, NOW)).toBeNull();
  });

  it('instants outside the range, or in another form, are INVALID_SCHEDULE naming the field', () => {
    expect(validationCode({ kind: 'at', runAt: '9999-12-31T23:59:59-01:00' })).toBe('INVALID_SCHEDULE');
    expect(validationCode({ kind: 'at', runAt: '2026-W01' })).toBe('INVALID_SCHEDULE');
    expect(validationCode({ kind: 'interval', everyMs: 60_000, startAt: '1969-12-31T23:59:59Z' })).toBe('INVALID_SCHEDULE');
    expect(validationCode({ kind: 'at', runAt: new Date(LATEST_INSTANT_MS).toISOString() })).toBeNull();
  });
});

describe('a stored job whose schedule has no instant left (its zone changed since, or an old log)', () => {
  const spec = withDefaults({ name: 'n', type: 'custom', payload: { handler: 'noop' }, schedule: cron('30 2-2/1 * 3 0L', 'Europe/Berlin') }, { retryPolicy: defaultRetryPolicy(), timeoutMs: 30_000 });
  const stored: JobEvent = { type: 'JobCreated', data: { jobId: 'j', ownerId: 'o', spec, createdAt: NOW.toISOString(), nextRunAt: '2026-06-01T10:05:00.000Z' } };

  it('fires the instant it has and records that there is no next one: nextRunAt null, at once', () => {
    const events = decide({ type: 'FireJob', now: new Date('2026-06-01T10:05:00.000Z'), data: { scheduledAt: '2026-06-01T10:05:00.000Z', misfireThresholdMs: 60_000, fireAllCap: 3 } }, fold([stored]));
    expect(events.map((event) => event.type)).toEqual(['JobFired']);
    expect(events[0]!.data).toMatchObject({ scheduledAt: '2026-06-01T10:05:00.000Z', nextRunAt: null });
  });

  it('a resume or a catch-up enumeration ends as soon as the schedule does', () => {
    const paused: JobEvent[] = [stored, { type: 'JobPaused', data: { jobId: 'j', pausedAt: NOW.toISOString() } }];
    const events = decide({ type: 'ResumeJob', now: new Date('2027-06-01T00:00:00.000Z'), data: {} }, fold(paused));
    expect(events.map((event) => event.type)).toEqual(['ExecutionSkipped', 'JobResumed']);
    expect(events.at(-1)!.data).toMatchObject({ nextRunAt: null });
  });

  it('a catch-up over a long outage examines at most MAX_INSTANTS_PER_DECISION instants', () => {
    const everySecond = withDefaults({ name: 'n', type: 'custom', payload: { handler: 'noop' }, schedule: cron('* * * * * *'), misfirePolicy: 'skip' }, { retryPolicy: defaultRetryPolicy(), timeoutMs: 30_000 });
    const job: JobEvent = { type: 'JobCreated', data: { jobId: 'j', ownerId: 'o', spec: everySecond, createdAt: NOW.toISOString(), nextRunAt: '2026-06-01T10:00:01.000Z' } };
    const events = decide({ type: 'FireJob', now: new Date('2026-06-02T10:00:00.000Z'), data: { scheduledAt: '2026-06-01T10:00:01.000Z', misfireThresholdMs: 60_000, fireAllCap: 3 } }, fold([job]));
    expect(events.length).toBeLessThanOrEqual(MAX_INSTANTS_PER_DECISION);
  });
});

describe('the local times a cron expression matches are those cron-parser finds (in UTC, where nothing shifts)', () => {
  const list = (arbitrary: fc.Arbitrary<string>) => fc.uniqueArray(arbitrary, { minLength: 1, maxLength: 3 }).map((items) => items.join(','));
  const field = (min: number, max: number) => {
    const n = fc.integer({ min, max });
    return fc.oneof(
      fc.constant('*'),
      n.map(String),
      fc.tuple(n, n).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.integer({ min: 1, max: Math.max(1, max - min) }).map((step) => `*/${step}`),
      fc.tuple(n, n, fc.integer({ min: 1, max: 5 })).map(([a, b, step]) => `${Math.min(a, b)}-${Math.max(a, b)}/${step}`),
      list(n.map(String)),
    );
  };
  const dayOfMonth = fc.oneof(field(1, 31), fc.constantFrom('L', '?', '1,L', '15,L'));
  const dayOfWeek = fc.oneof(field(0, 7), fc.integer({ min: 0, max: 7 }).map((d) => `${d}L`), fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 5 })).map(([d, n]) => `${d}#${n}`), fc.constant('?'));
  const expression = fc
    .tuple(fc.option(field(0, 59), { nil: undefined }), field(0, 59), field(0, 23), dayOfMonth, field(1, 12), dayOfWeek)
    .map(([second, ...rest]) => [...(second === undefined ? [] : [second]), ...rest].join(' '));
  const start = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2200, 0, 1) });

  it('agrees on the next three matches of generated expressions', () => {
    let compared = 0;
    fc.assert(
      fc.property(expression, start, (text, startMs) => {
        let expected: number[];
        try {
          const parsed = CronExpressionParser.parse(text, { currentDate: new Date(startMs), tz: 'UTC', strict: false });
          expected = [parsed.next().getTime(), parsed.next().getTime(), parsed.next().getTime()];
        } catch {
          return; // not an expression cron-parser accepts or iterates: nothing to compare
        }
        compared++;
        const ours: (number | undefined)[] = [];
        let after = new Date(startMs);
        for (let i = 0; i < 3; i++) {
          const fire = nextCronFire(text, 'UTC', after);
          ours.push(fire?.at.getTime());
          if (!fire) break;
          after = fire.at;
        }
        expect([text, new Date(startMs).toISOString(), ours.map((ms) => ms && new Date(ms).toISOString())]).toEqual([
          text,
          new Date(startMs).toISOString(),
          expected.slice(0, ours.length).map((ms) => new Date(ms).toISOString()),
        ]);
      }),
      { numRuns: 3000 },
    );
    expect(compared).toBeGreaterThan(1500); // most generated expressions are compared, not skipped
  });
});
