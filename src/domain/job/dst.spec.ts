import { nextInstant, type Schedule } from './schedule.js';

/*
 * The DST contract (README.md), checked against instants computed by hand.
 *
 * The 2026 transitions used:
 *   Europe/Berlin        spring 2026-03-29 02:00 CET (+1) → 03:00 CEST (+2)  at 2026-03-29T01:00Z; local 02:00–03:00 does not exist
 *                        autumn 2026-10-25 03:00 CEST (+2) → 02:00 CET (+1)  at 2026-10-25T01:00Z; local 02:00–03:00 occurs twice
 *   America/New_York     spring 2026-03-08 02:00 EST (−5) → 03:00 EDT (−4)   at 2026-03-08T07:00Z; local 02:00–03:00 does not exist
 *                        autumn 2026-11-01 02:00 EDT (−4) → 01:00 EST (−5)   at 2026-11-01T06:00Z; local 01:00–02:00 occurs twice
 *   Australia/Lord_Howe  spring 2026-10-04 02:00 (+10:30) → 02:30 (+11)      at 2026-10-03T15:30Z; local 02:00–02:30 does not exist
 *                        autumn 2026-04-05 02:00 (+11) → 01:30 (+10:30)      at 2026-04-04T15:00Z; local 01:30–02:00 occurs twice
 * UTC = local − offset throughout.
 */

const cron = (expression: string, timezone: string): Schedule => ({ kind: 'cron', expression, timezone });

/** The first `count` fires strictly after `after`, each found from the previous one as the scheduler does. */
function fires(schedule: Schedule, after: string, count: number): string[] {
  const instants: string[] = [];
  let cursor = new Date(after);
  while (instants.length < count) {
    cursor = nextInstant(schedule, cursor, cursor)!;
    instants.push(cursor.toISOString());
  }
  return instants;
}

/** Every fire in [from, to): a whole local day when given its two midnights. */
function firesBetween(schedule: Schedule, from: string, to: string): string[] {
  const instants: string[] = [];
  let cursor = new Date(new Date(from).getTime() - 1);
  for (;;) {
    cursor = nextInstant(schedule, cursor, cursor)!;
    if (cursor >= new Date(to)) return instants;
    instants.push(cursor.toISOString());
  }
}

/** Instants from `first` to `last` inclusive, `stepHours` apart. */
function series(first: string, last: string, stepHours = 1): string[] {
  const instants: string[] = [];
  for (let t = Date.parse(first); t <= Date.parse(last); t += stepHours * 3_600_000) instants.push(new Date(t).toISOString());
  return instants;
}

const iso = (...instants: string[]) => instants.map((instant) => new Date(instant).toISOString());

describe('DST: a fixed local time', () => {
  it.each([
    {
      case: 'Berlin, in the spring gap, fires at 03:00 CEST; the days either side are normal',
      schedule: cron('30 2 * * *', 'Europe/Berlin'),
      after: '2026-03-27T12:00:00Z',
      // 03-28 02:30 CET −1 = 01:30Z | 03-29 02:30 does not exist → 03:00 CEST −2 = 01:00Z | 03-30 02:30 CEST −2 = 00:30Z
      expected: iso('2026-03-28T01:30Z', '2026-03-29T01:00Z', '2026-03-30T00:30Z'),
    },
    {
      case: 'Berlin, two times in the gap collapse into one fire',
      schedule: cron('0,30 2 * * *', 'Europe/Berlin'),
      after: '2026-03-27T12:00:00Z',
      // 03-28 02:00/02:30 CET = 01:00Z/01:30Z | 03-29 both missing → one fire at 03:00 CEST = 01:00Z | 03-30 02:00/02:30 CEST = 00:00Z/00:30Z
      expected: iso('2026-03-28T01:00Z', '2026-03-28T01:30Z', '2026-03-29T01:00Z', '2026-03-30T00:00Z', '2026-03-30T00:30Z'),
    },
    {
      case: 'Berlin, a fixed hour with stepped minutes: all four times in the gap collapse into one fire',
      schedule: cron('*/15 2 * * *', 'Europe/Berlin'),
      after: '2026-03-28T12:00:00Z',
      // 03-29 02:00, 02:15, 02:30, 02:45 all missing → one fire at 01:00Z | 03-30 02:00 CEST = 00:00Z, 02:15 = 00:15Z
      expected: iso('2026-03-29T01:00Z', '2026-03-30T00:00Z', '2026-03-30T00:15Z'),
    },
    {
      case: 'Berlin, a gap time and 03:00 itself land on the same instant and fire once',
      schedule: cron('0 2,3 * * *', 'Europe/Berlin'),
      after: '2026-03-28T12:00:00Z',
      // 03-29 02:00 missing → 03:00 CEST = 01:00Z, which is also 03:00's own instant | 03-30 02:00 CEST = 00:00Z, 03:00 = 01:00Z
      expected: iso('2026-03-29T01:00Z', '2026-03-30T00:00Z', '2026-03-30T01:00Z'),
    },
    {
      case: 'Berlin, with a seconds field, in the gap',
      schedule: cron('30 30 2 * * *', 'Europe/Berlin'),
      after: '2026-03-28T12:00:00Z',
      // 03-29 02:30:30 missing → 03:00:00 CEST = 01:00:00Z | 03-30 02:30:30 CEST = 00:30:30Z
      expected: iso('2026-03-29T01:00:00Z', '2026-03-30T00:30:30Z'),
    },
    {
      case: 'Berlin, in the repeated hour, fires at the first occurrence only',
      schedule: cron('30 2 * * *', 'Europe/Berlin'),
      after: '2026-10-23T12:00:00Z',
      // 10-24 02:30 CEST −2 = 00:30Z | 10-25 02:30 CEST −2 = 00:30Z (not 02:30 CET = 01:30Z) | 10-26 02:30 CET −1 = 01:30Z
      expected: iso('2026-10-24T00:30Z', '2026-10-25T00:30Z', '2026-10-26T01:30Z'),
    },
    {
      case: 'Berlin, a fixed hour with stepped minutes in the repeated hour: each time once, in the first pass',
      schedule: cron('*/15 2 * * *', 'Europe/Berlin'),
      after: '2026-10-24T12:00:00Z',
      // 10-25 02:00–02:45 CEST = 00:00Z–00:45Z, not again in CET | 10-26 02:00 CET = 01:00Z
      expected: iso('2026-10-25T00:00Z', '2026-10-25T00:15Z', '2026-10-25T00:30Z', '2026-10-25T00:45Z', '2026-10-26T01:00Z'),
    },
    {
      case: 'New York, in the spring gap, fires at 03:00 EDT',
      schedule: cron('30 2 * * *', 'America/New_York'),
      after: '2026-03-06T12:00:00Z',
      // 03-07 02:30 EST +5 = 07:30Z | 03-08 02:30 missing → 03:00 EDT +4 = 07:00Z | 03-09 02:30 EDT +4 = 06:30Z
      expected: iso('2026-03-07T07:30Z', '2026-03-08T07:00Z', '2026-03-09T06:30Z'),
    },
    {
      case: 'New York, two times in the gap collapse into one fire',
      schedule: cron('10,40 2 * * *', 'America/New_York'),
      after: '2026-03-07T12:00:00Z',
      // 03-08 02:10, 02:40 missing → one fire at 07:00Z | 03-09 02:10/02:40 EDT = 06:10Z/06:40Z
      expected: iso('2026-03-08T07:00Z', '2026-03-09T06:10Z', '2026-03-09T06:40Z'),
    },
    {
      case: 'New York, in the repeated hour, fires at the first occurrence only',
      schedule: cron('30 1 * * *', 'America/New_York'),
      after: '2026-10-30T12:00:00Z',
      // 10-31 01:30 EDT +4 = 05:30Z | 11-01 01:30 EDT = 05:30Z (not 01:30 EST = 06:30Z) | 11-02 01:30 EST +5 = 06:30Z
      expected: iso('2026-10-31T05:30Z', '2026-11-01T05:30Z', '2026-11-02T06:30Z'),
    },
    {
      case: 'Lord Howe, in the half-hour spring gap, fires at 02:30 +11',
      schedule: cron('15 2 * * *', 'Australia/Lord_Howe'),
      after: '2026-10-02T00:00:00Z',
      // 10-03 02:15 +10:30 = 10-02T15:45Z | 10-04 02:15 missing → 02:30 +11 = 10-03T15:30Z | 10-05 02:15 +11 = 10-04T15:15Z
      expected: iso('2026-10-02T15:45Z', '2026-10-03T15:30Z', '2026-10-04T15:15Z'),
    },
    {
      case: 'Lord Howe, gap times and the first time after the gap fire once',
      schedule: cron('0,20,30 2 * * *', 'Australia/Lord_Howe'),
      after: '2026-10-03T00:00:00Z',
      // 10-04 02:00, 02:20 missing → 02:30 +11 = 10-03T15:30Z, also 02:30's own instant | 10-05 02:00/02:20/02:30 +11 = 15:00Z/15:20Z/15:30Z
      expected: iso('2026-10-03T15:30Z', '2026-10-04T15:00Z', '2026-10-04T15:20Z', '2026-10-04T15:30Z'),
    },
    {
      case: 'Lord Howe, in the repeated half hour, fires at the first occurrence only',
      schedule: cron('45 1 * * *', 'Australia/Lord_Howe'),
      after: '2026-04-03T00:00:00Z',
      // 04-04 01:45 +11 = 04-03T14:45Z | 04-05 01:45 +11 = 04-04T14:45Z (not +10:30 = 15:15Z) | 04-06 01:45 +10:30 = 04-05T15:15Z
      expected: iso('2026-04-03T14:45Z', '2026-04-04T14:45Z', '2026-04-05T15:15Z'),
    },
  ])('$case', ({ schedule, after, expected }) => {
    expect(fires(schedule, after, expected.length)).toEqual(expected);
  });
});

describe('DST: a wildcard or stepped hour fires at each real hour, no extra and no double', () => {
  it.each([
    {
      case: 'Berlin spring, every hour: 23 fires',
      schedule: cron('0 * * * *', 'Europe/Berlin'),
      // local day 03-29: 00:00 CET = 03-28T23:00Z … 24:00 CEST = 03-29T22:00Z
      day: ['2026-03-28T23:00Z', '2026-03-29T22:00Z'],
      // 00:00, 01:00 CET = 23:00Z, 00:00Z; 02:00 does not exist; 03:00 … 23:00 CEST = 01:00Z … 21:00Z
      expected: [...iso('2026-03-28T23:00Z', '2026-03-29T00:00Z'), ...series('2026-03-29T01:00Z', '2026-03-29T21:00Z')],
    },
    {
      case: 'Berlin spring, every second hour: 02:00 is not replaced by 03:00',
      schedule: cron('0 */2 * * *', 'Europe/Berlin'),
      day: ['2026-03-28T23:00Z', '2026-03-29T22:00Z'],
      // 00:00 CET = 23:00Z; 02:00 does not exist; 04:00 … 22:00 CEST = 02:00Z … 20:00Z
      expected: [...iso('2026-03-28T23:00Z'), ...series('2026-03-29T02:00Z', '2026-03-29T20:00Z', 2)],
    },
    {
      case: 'Berlin, the normal day before spring: 24 fires',
      schedule: cron('0 * * * *', 'Europe/Berlin'),
      day: ['2026-03-27T23:00Z', '2026-03-28T23:00Z'],
      // 00:00 … 23:00 CET = 03-27T23:00Z … 03-28T22:00Z
      expected: series('2026-03-27T23:00Z', '2026-03-28T22:00Z'),
    },
    {
      case: 'Berlin, the normal day after spring: 24 fires',
      schedule: cron('0 * * * *', 'Europe/Berlin'),
      day: ['2026-03-29T22:00Z', '2026-03-30T22:00Z'],
      // 00:00 … 23:00 CEST = 03-29T22:00Z … 03-30T21:00Z
      expected: series('2026-03-29T22:00Z', '2026-03-30T21:00Z'),
    },
    {
      case: 'Berlin autumn, every hour: 25 fires, 02:00 CEST and 02:00 CET both',
      schedule: cron('0 * * * *', 'Europe/Berlin'),
      // local day 10-25: 00:00 CEST = 10-24T22:00Z … 24:00 CET = 10-25T23:00Z
      day: ['2026-10-24T22:00Z', '2026-10-25T23:00Z'],
      // 00:00, 01:00, 02:00 CEST = 22:00Z, 23:00Z, 00:00Z; 02:00, 03:00 … 23:00 CET = 01:00Z, 02:00Z … 22:00Z
      expected: series('2026-10-24T22:00Z', '2026-10-25T22:00Z'),
    },
    {
      case: 'Berlin autumn, every hour at :30: 25 fires',
      schedule: cron('30 * * * *', 'Europe/Berlin'),
      day: ['2026-10-24T22:00Z', '2026-10-25T23:00Z'],
      // 00:30, 01:30, 02:30 CEST = 22:30Z, 23:30Z, 00:30Z; 02:30 … 23:30 CET = 01:30Z … 22:30Z
      expected: series('2026-10-24T22:30Z', '2026-10-25T22:30Z'),
    },
    {
      case: 'Berlin autumn, every second hour: 02:00 fires in CEST and in CET',
      schedule: cron('0 */2 * * *', 'Europe/Berlin'),
      day: ['2026-10-24T22:00Z', '2026-10-25T23:00Z'],
      // 00:00 CEST = 22:00Z; 02:00 CEST = 00:00Z; 02:00 CET = 01:00Z; 04:00 … 22:00 CET = 03:00Z … 21:00Z
      expected: [...iso('2026-10-24T22:00Z', '2026-10-25T00:00Z', '2026-10-25T01:00Z'), ...series('2026-10-25T03:00Z', '2026-10-25T21:00Z', 2)],
    },
    {
      case: 'New York spring, every hour at :30: 23 fires',
      schedule: cron('30 * * * *', 'America/New_York'),
      // local day 03-08: 00:00 EST = 05:00Z … 24:00 EDT = 03-09T04:00Z
      day: ['2026-03-08T05:00Z', '2026-03-09T04:00Z'],
      // 00:30, 01:30 EST = 05:30Z, 06:30Z; 02:30 does not exist; 03:30 … 23:30 EDT = 07:30Z … 03-09T03:30Z
      expected: [...iso('2026-03-08T05:30Z', '2026-03-08T06:30Z'), ...series('2026-03-08T07:30Z', '2026-03-09T03:30Z')],
    },
    {
      case: 'New York spring, every second hour at :15: 02:15 does not fire',
      schedule: cron('15 */2 * * *', 'America/New_York'),
      day: ['2026-03-08T05:00Z', '2026-03-09T04:00Z'],
      // 00:15 EST = 05:15Z; 02:15 does not exist; 04:15 … 22:15 EDT = 08:15Z … 03-09T02:15Z
      expected: [...iso('2026-03-08T05:15Z'), ...series('2026-03-08T08:15Z', '2026-03-09T02:15Z', 2)],
    },
    {
      case: 'New York autumn, every hour at :30: 25 fires',
      schedule: cron('30 * * * *', 'America/New_York'),
      // local day 11-01: 00:00 EDT = 04:00Z … 24:00 EST = 11-02T05:00Z
      day: ['2026-11-01T04:00Z', '2026-11-02T05:00Z'],
      // 00:30, 01:30 EDT = 04:30Z, 05:30Z; 01:30, 02:30 … 23:30 EST = 06:30Z, 07:30Z … 11-02T04:30Z
      expected: series('2026-11-01T04:30Z', '2026-11-02T04:30Z'),
    },
    {
      case: 'New York autumn, odd hours at :15: 01:15 fires in EDT and in EST',
      schedule: cron('15 1-23/2 * * *', 'America/New_York'),
      day: ['2026-11-01T04:00Z', '2026-11-02T05:00Z'],
      // 01:15 EDT = 05:15Z; 01:15 EST = 06:15Z; 03:15 … 23:15 EST = 08:15Z … 11-02T04:15Z
      expected: [...iso('2026-11-01T05:15Z', '2026-11-01T06:15Z'), ...series('2026-11-01T08:15Z', '2026-11-02T04:15Z', 2)],
    },
    {
      case: 'Lord Howe spring, every hour: 02:00 does not exist, 23 fires',
      schedule: cron('0 * * * *', 'Australia/Lord_Howe'),
      // local day 10-04: 00:00 +10:30 = 10-03T13:30Z … 24:00 +11 = 10-04T13:00Z
      day: ['2026-10-03T13:30Z', '2026-10-04T13:00Z'],
      // 00:00, 01:00 +10:30 = 13:30Z, 14:30Z; 02:00 does not exist; 03:00 … 23:00 +11 = 16:00Z … 10-04T12:00Z
      expected: [...iso('2026-10-03T13:30Z', '2026-10-03T14:30Z'), ...series('2026-10-03T16:00Z', '2026-10-04T12:00Z')],
    },
    {
      case: 'Lord Howe spring, every hour at :30: 02:30 exists, 24 fires',
      schedule: cron('30 * * * *', 'Australia/Lord_Howe'),
      day: ['2026-10-03T13:30Z', '2026-10-04T13:00Z'],
      // 00:30, 01:30 +10:30 = 14:00Z, 15:00Z; 02:30 … 23:30 +11 = 15:30Z … 10-04T12:30Z
      expected: [...iso('2026-10-03T14:00Z', '2026-10-03T15:00Z'), ...series('2026-10-03T15:30Z', '2026-10-04T12:30Z')],
    },
    {
      case: 'Lord Howe spring, every second hour: 02:00 does not fire',
      schedule: cron('0 */2 * * *', 'Australia/Lord_Howe'),
      day: ['2026-10-03T13:30Z', '2026-10-04T13:00Z'],
      // 00:00 +10:30 = 13:30Z; 02:00 does not exist; 04:00 … 22:00 +11 = 17:00Z … 10-04T11:00Z
      expected: [...iso('2026-10-03T13:30Z'), ...series('2026-10-03T17:00Z', '2026-10-04T11:00Z', 2)],
    },
    {
      case: 'Lord Howe autumn, every hour: 24 fires (01:00 is not repeated, 02:00 is 90 minutes after it)',
      schedule: cron('0 * * * *', 'Australia/Lord_Howe'),
      // local day 04-05: 00:00 +11 = 04-04T13:00Z … 24:00 +10:30 = 04-05T13:30Z
      day: ['2026-04-04T13:00Z', '2026-04-05T13:30Z'],
      // 00:00, 01:00 +11 = 13:00Z, 14:00Z; 02:00 … 23:00 +10:30 = 15:30Z … 04-05T12:30Z
      expected: [...iso('2026-04-04T13:00Z', '2026-04-04T14:00Z'), ...series('2026-04-04T15:30Z', '2026-04-05T12:30Z')],
    },
    {
      case: 'Lord Howe autumn, every hour at :30: 01:30 fires in +11 and in +10:30, 25 fires',
      schedule: cron('30 * * * *', 'Australia/Lord_Howe'),
      day: ['2026-04-04T13:00Z', '2026-04-05T13:30Z'],
      // 00:30, 01:30 +11 = 13:30Z, 14:30Z; 01:30 +10:30 = 15:00Z; 02:30 … 23:30 +10:30 = 16:00Z … 04-05T13:00Z
      expected: [...iso('2026-04-04T13:30Z', '2026-04-04T14:30Z', '2026-04-04T15:00Z'), ...series('2026-04-04T16:00Z', '2026-04-05T13:00Z')],
    },
    {
      case: 'Lord Howe autumn, odd hours at :30: 01:30 fires in +11 and in +10:30',
      schedule: cron('30 1-23/2 * * *', 'Australia/Lord_Howe'),
      day: ['2026-04-04T13:00Z', '2026-04-05T13:30Z'],
      // 01:30 +11 = 14:30Z; 01:30 +10:30 = 15:00Z; 03:30 … 23:30 +10:30 = 17:00Z … 04-05T13:00Z
      expected: [...iso('2026-04-04T14:30Z', '2026-04-04T15:00Z'), ...series('2026-04-04T17:00Z', '2026-04-05T13:00Z', 2)],
    },
  ])('$case', ({ schedule, day, expected }) => {
    expect(firesBetween(schedule, day[0]!, day[1]!)).toEqual(expected);
  });

  it('every minute across the Berlin fall-back: the repeated hour runs twice, minute by minute, in order', () => {
    // 00:58Z = 02:58 CEST, 00:59Z = 02:59 CEST, 01:00Z = 02:00 CET, 01:01Z = 02:01 CET
    expect(fires(cron('* * * * *', 'Europe/Berlin'), '2026-10-25T00:57:00Z', 4)).toEqual(
      iso('2026-10-25T00:58Z', '2026-10-25T00:59Z', '2026-10-25T01:00Z', '2026-10-25T01:01Z'),
    );
  });

  it('every minute across the Berlin spring gap: 01:59 CET is followed by 03:00 CEST', () => {
    // 00:58Z = 01:58 CET, 00:59Z = 01:59 CET, 01:00Z = 03:00 CEST
    expect(fires(cron('* * * * *', 'Europe/Berlin'), '2026-03-29T00:57:00Z', 3)).toEqual(
      iso('2026-03-29T00:58Z', '2026-03-29T00:59Z', '2026-03-29T01:00Z'),
    );
  });
});
