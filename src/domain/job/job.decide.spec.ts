import { IllegalStateError, NotFoundError, ValidationError } from '../errors.js';
import { defaultRetryPolicy, withDefaults, type JobSpec } from './job-spec.js';
import type { JobCommand } from './job.commands.js';
import { decide, executionIdFor, FireRefusedError, retryDelayMs } from './job.decide.js';
import type { JobEvent } from './job.events.js';
import { fold } from './job.state.js';
import type { Schedule } from './schedule.js';

const T0 = new Date('2026-11-22T09:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const JOB = 'job-1';

function spec(schedule: Schedule): JobSpec {
  return withDefaults(
    { name: 'n', type: 'custom', payload: { handler: 'noop' }, schedule },
    { retryPolicy: defaultRetryPolicy(), timeoutMs: 30_000 },
  );
}

function given(history: JobEvent[]) {
  const state = fold(history);
  return {
    when(command: JobCommand) {
      return {
        then(expected: JobEvent[]) {
          expect(decide(command, state)).toEqual(expected);
        },
        thenThrows(errorType: new (...args: never[]) => Error, code?: string) {
          let thrown: unknown;
          try {
            decide(command, state);
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(errorType);
          if (code) expect((thrown as { code: string }).code).toBe(code);
        },
        events: () => decide(command, state),
      };
    },
  };
}

const create = (schedule: Schedule, now = T0): JobCommand => ({
  type: 'CreateJob',
  now,
  data: { jobId: JOB, ownerId: 'owner', spec: spec(schedule), executionId: 'exec-0' },
});
const created = (schedule: Schedule, nextRunAt: string | null): JobEvent => ({
  type: 'JobCreated',
  data: { jobId: JOB, ownerId: 'owner', spec: spec(schedule), createdAt: T0.toISOString(), nextRunAt },
});
const everyMinute: Schedule = { kind: 'cron', expression: '0 * * * * *', timezone: 'UTC' };
const fire = (scheduledAt: string, now: Date, misfireThresholdMs = 60_000): JobCommand => ({
  type: 'FireJob',
  now,
  data: { scheduledAt, misfireThresholdMs, fireAllCap: 3 },
});
const firedEvent = (scheduledAt: string, firedAt: string, nextRunAt: string | null, executionId = executionIdFor(JOB, scheduledAt), trigger: 'schedule' | 'misfire' = 'schedule'): JobEvent => ({
  type: 'JobFired',
  data: { jobId: JOB, executionId, scheduledAt, firedAt, trigger, attempt: 1, nextRunAt },
});

describe('job decider', () => {
  describe('create', () => {
    it('schedules a cron job at its first instant', () => {
      given([]).when(create(everyMinute)).then([created(everyMinute, '2026-11-22T09:01:00.000Z')]);
    });

    it('fires an immediate job in the same decision that creates it', () => {
      given([])
        .when(create({ kind: 'immediate' }))
        .then([
          created({ kind: 'immediate' }, T0.toISOString()),
          { ...firedEvent(T0.toISOString(), T0.toISOString(), null, 'exec-0') },
        ]);
    });

    it('accepts a 6-field cron with seconds and a time zone', () => {
      const schedule: Schedule = { kind: 'cron', expression: '*/10 * * * * *', timezone: 'Europe/Berlin' };
      given([]).when(create(schedule)).then([created(schedule, '2026-11-22T09:00:10.000Z')]);
    });

    it('rejects an invalid cron expression', () => {
      given([]).when(create({ kind: 'cron', expression: 'not a cron', timezone: 'UTC' })).thenThrows(ValidationError, 'INVALID_CRON');
    });

    it('rejects a cron expression that can never fire', () => {
      given([]).when(create({ kind: 'cron', expression: '0 0 30 2 *', timezone: 'UTC' })).thenThrows(ValidationError, 'INVALID_CRON');
    });

    it('rejects an unknown time zone', () => {
      given([]).when(create({ kind: 'cron', expression: '0 9 * * *', timezone: 'Mars/Olympus' })).thenThrows(ValidationError, 'INVALID_TIMEZONE');
    });

    it('anchors an interval on its start so instants never drift', () => {
      const schedule: Schedule = { kind: 'interval', everyMs: 60_000, startAt: '2026-11-22T08:59:30.000Z' };
      given([]).when(create(schedule)).then([created(schedule, '2026-11-22T09:00:30.000Z')]);
    });

    it('refuses to create a job twice', () => {
      given([created(everyMinute, null)]).when(create(everyMinute)).thenThrows(IllegalStateError);
    });
  });

  describe('fire', () => {
    const history = [created(everyMinute, '2026-11-22T09:01:00.000Z')];

    it('fires the due instant and schedules the next from the schedule, not from the fire time', () => {
      given(history)
        .when(fire('2026-11-22T09:01:00.000Z', at(60_250)))
        .then([firedEvent('2026-11-22T09:01:00.000Z', at(60_250).toISOString(), '2026-11-22T09:02:00.000Z')]);
    });

    it('refuses a fire at or before the last recorded one', () => {
      const afterFire = [...history, firedEvent('2026-11-22T09:01:00.000Z', at(60_000).toISOString(), '2026-11-22T09:02:00.000Z')];
      given(afterFire).when(fire('2026-11-22T09:01:00.000Z', at(61_000))).thenThrows(FireRefusedError);
    });

    it('refuses an instant that is not yet due', () => {
      given(history).when(fire('2026-11-22T09:01:00.000Z', at(59_000))).thenThrows(FireRefusedError);
    });

    it('refuses a stale timer whose instant is no longer the next one', () => {
      given(history).when(fire('2026-11-22T09:05:00.000Z', at(400_000))).thenThrows(FireRefusedError);
    });

    it('gives every missed instant an outcome: fire_once collapses the missed ones into the on-time fire', () => {
      // Down from 09:01 to 09:10:00.5: 09:01–09:09 are older than the 60 s threshold, 09:10 is on time.
      const events = given(history).when(fire('2026-11-22T09:01:00.000Z', at(600_500))).events();
      expect(events.map((e) => [e.type, (e.data as { scheduledAt?: string }).scheduledAt?.slice(11, 16), (e.data as { reason?: string }).reason ?? (e.data as { trigger?: string }).trigger])).toEqual([
        ...['09:01', '09:02', '09:03', '09:04', '09:05', '09:06', '09:07', '09:08', '09:09'].map((t) => ['ExecutionSkipped', t, 'misfire']),
        ['JobFired', '09:10', 'schedule'],
      ]);
      expect(fold([...history, ...events])).toMatchObject({ nextRunAt: '2026-11-22T09:11:00.000Z', lastScheduledAt: '2026-11-22T09:10:00.000Z' });
    });
    it('refuses to fire a paused job', () => {
      given([...history, { type: 'JobPaused', data: { jobId: JOB, pausedAt: T0.toISOString() } }])
        .when(fire('2026-11-22T09:01:00.000Z', at(60_000)))
        .thenThrows(FireRefusedError);
    });
  });

  describe('firing ahead of the instant', () => {
    const history = [created(everyMinute, '2026-11-22T09:01:00.000Z')];
    const fireAhead = (scheduledAt: string, now: Date, fireAheadMs: number): JobCommand => ({
      type: 'FireJob',
      now,
      data: { scheduledAt, misfireThresholdMs: 60_000, fireAllCap: 3, fireAheadMs },
    });
    const withPolicy = (concurrencyPolicy: JobSpec['concurrencyPolicy']): JobEvent => ({
      type: 'JobCreated',
      data: { jobId: JOB, ownerId: 'owner', spec: { ...spec(everyMinute), concurrencyPolicy }, createdAt: T0.toISOString(), nextRunAt: '2026-11-22T09:01:00.000Z' },
    });
    const running = firedEvent('2026-11-22T09:01:00.000Z', at(60_000).toISOString(), '2026-11-22T09:02:00.000Z');

    it('records the fire when it is asked, and schedules the next instant after the fired one, not after now', () => {
      given(history)
        .when(fireAhead('2026-11-22T09:01:00.000Z', at(58_000), 2000))
        .then([firedEvent('2026-11-22T09:01:00.000Z', at(58_000).toISOString(), '2026-11-22T09:02:00.000Z')]);
    });

    it('refuses an instant further ahead than allowed', () => {
      given(history).when(fireAhead('2026-11-22T09:01:00.000Z', at(57_999), 2000)).thenThrows(FireRefusedError);
    });

    it('refuses to fire ahead while a run is open, unless runs may overlap: overlap is decided at the instant', () => {
      given([withPolicy('forbid'), running]).when(fireAhead('2026-11-22T09:02:00.000Z', at(119_000), 2000)).thenThrows(FireRefusedError);
      given([withPolicy('replace'), running]).when(fireAhead('2026-11-22T09:02:00.000Z', at(119_000), 2000)).thenThrows(FireRefusedError);
      expect(given([withPolicy('allow'), running]).when(fireAhead('2026-11-22T09:02:00.000Z', at(119_000), 2000)).events().map((e) => e.type)).toEqual(['JobFired']);
    });

    it('a run fired ahead is cancelled when the job is paused, cancelled or deleted before its instant', () => {
      const aheadFired = [...history, firedEvent('2026-11-22T09:01:00.000Z', at(58_000).toISOString(), '2026-11-22T09:02:00.000Z')];
      const executionId = executionIdFor(JOB, '2026-11-22T09:01:00.000Z');
      const commands: [JobCommand, string, string][] = [
        [{ type: 'PauseJob', now: at(59_000), data: {} }, 'JobPaused', 'paused'],
        [{ type: 'CancelJob', now: at(59_000), data: {} }, 'JobCancelled', 'cancelled'],
        [{ type: 'DeleteJob', now: at(59_000), data: {} }, 'JobDeleted', 'deleted'],
      ];
      for (const [command, type, reason] of commands) {
        const events = given(aheadFired).when(command).events();
        expect(events.map((e) => e.type)).toEqual([type, 'ExecutionCancelled']);
        expect(events[1]!.data).toMatchObject({ executionId, reason });
        expect(fold([...aheadFired, ...events]).openExecutions).toEqual({});
      }
    });

    it('a run whose instant has come is not cancelled by a pause: it may be running', () => {
      const aheadFired = [...history, firedEvent('2026-11-22T09:01:00.000Z', at(58_000).toISOString(), '2026-11-22T09:02:00.000Z')];
      given(aheadFired)
        .when({ type: 'PauseJob', now: at(60_000), data: {} })
        .then([{ type: 'JobPaused', data: { jobId: JOB, pausedAt: at(60_000).toISOString() } }]);
    });

    it('a run paused or cancelled before its instant that its worker started at it anyway: its start and result are recorded, nothing retried', () => {
      const aheadFired = [...history, firedEvent('2026-11-22T09:01:00.000Z', at(58_000).toISOString(), '2026-11-22T09:02:00.000Z')];
      const executionId = executionIdFor(JOB, '2026-11-22T09:01:00.000Z');
      for (const stop of [{ type: 'PauseJob', now: at(59_999), data: {} }, { type: 'CancelJob', now: at(59_999), data: {} }] as JobCommand[]) {
        const stopped = [...aheadFired, ...given(aheadFired).when(stop).events()];
        // The decision raced the instant: the worker started the run at 09:01:00 and reports it a moment later.
        const started: JobCommand = { type: 'StartExecution', now: at(60_500), data: { executionId, workerId: 'w1' } };
        given(stopped).when(started).then([{ type: 'ExecutionStarted', data: { jobId: JOB, executionId, startedAt: at(60_500).toISOString(), workerId: 'w1', attempt: 1 } }]);
        const failed: JobCommand = { type: 'FinishExecution', now: at(60_100), data: { executionId, workerId: 'w1', outcome: 'failed', startedAt: at(60_000).toISOString(), error: 'boom' } };
        given(stopped).when(failed).then([
          { type: 'ExecutionStarted', data: { jobId: JOB, executionId, startedAt: at(60_000).toISOString(), workerId: 'w1', attempt: 1 } },
          { type: 'ExecutionFinished', data: { jobId: JOB, executionId, outcome: 'failed', finishedAt: at(60_100).toISOString(), durationMs: 100, error: 'boom' } },
        ]);
        // Reported twice, folded once.
        given([...stopped, ...given(stopped).when(failed).events()]).when(failed).then([]);
      }
    });

    it('a run replaced or of a deleted job takes no result', () => {
      const aheadFired = [...history, firedEvent('2026-11-22T09:01:00.000Z', at(58_000).toISOString(), '2026-11-22T09:02:00.000Z')];
      const executionId = executionIdFor(JOB, '2026-11-22T09:01:00.000Z');
      const replaced: JobEvent = { type: 'ExecutionCancelled', data: { jobId: JOB, executionId, reason: 'replaced', detail: 'replaced', cancelledAt: at(60_000).toISOString() } };
      given([...aheadFired, replaced]).when({ type: 'FinishExecution', now: at(60_100), data: { executionId, workerId: 'w1', outcome: 'succeeded' } }).then([]);
    });
  });

  describe('misfire and concurrency policies', () => {
    const withPolicies = (misfirePolicy: JobSpec['misfirePolicy'], concurrencyPolicy: JobSpec['concurrencyPolicy']): JobEvent => ({
      type: 'JobCreated',
      data: { jobId: JOB, ownerId: 'owner', spec: { ...spec(everyMinute), misfirePolicy, concurrencyPolicy }, createdAt: T0.toISOString(), nextRunAt: '2026-11-22T09:01:00.000Z' },
    });
    const outcomes = (events: JobEvent[]) =>
      events.map((e) => `${e.type}:${((e.data as { scheduledAt?: string }).scheduledAt ?? '').slice(11, 16)}:${(e.data as { reason?: string; trigger?: string }).reason ?? (e.data as { trigger?: string }).trigger ?? ''}`);
    // Down from 09:01 until 09:05:30: 09:01–09:04 are misfires (older than 60 s), 09:05 is on time.
    const late = fire('2026-11-22T09:01:00.000Z', at(330_000));

    it('skip: every missed instant is recorded as skipped; the on-time one fires', () => {
      expect(outcomes(given([withPolicies('skip', 'allow')]).when(late).events())).toEqual([
        'ExecutionSkipped:09:01:misfire',
        'ExecutionSkipped:09:02:misfire',
        'ExecutionSkipped:09:03:misfire',
        'ExecutionSkipped:09:04:misfire',
        'JobFired:09:05:schedule',
      ]);
    });

    it('fire_once with nothing on time fires the latest missed instant', () => {
      // A 10 s threshold at 09:04:30: every due instant, 09:04 included, is a misfire.
      const events = given([withPolicies('fire_once', 'allow')]).when(fire('2026-11-22T09:01:00.000Z', at(270_000), 10_000)).events();
      expect(outcomes(events)).toEqual(['ExecutionSkipped:09:01:misfire', 'ExecutionSkipped:09:02:misfire', 'ExecutionSkipped:09:03:misfire', 'JobFired:09:04:misfire']);
    });

    it('fire_all fires missed instants up to the cap and records the rest', () => {
      expect(outcomes(given([withPolicies('fire_all', 'allow')]).when(late).events())).toEqual([
        'JobFired:09:01:misfire',
        'JobFired:09:02:misfire',
        'JobFired:09:03:misfire',
        'ExecutionSkipped:09:04:misfire_cap',
        'JobFired:09:05:schedule',
      ]);
    });

    it('forbid: an instant whose previous run is still going is skipped as an overlap', () => {
      const running = firedEvent('2026-11-22T09:01:00.000Z', at(60_000).toISOString(), '2026-11-22T09:02:00.000Z');
      const events = given([withPolicies('fire_once', 'forbid'), running]).when(fire('2026-11-22T09:02:00.000Z', at(120_100))).events();
      expect(outcomes(events)).toEqual(['ExecutionSkipped:09:02:overlap']);
      expect(fold([withPolicies('fire_once', 'forbid'), running, ...events]).nextRunAt).toBe('2026-11-22T09:03:00.000Z');
    });

    it('forbid applies within a catch-up too: only the first of several late instants runs', () => {
      // A 5-minute threshold: 09:01–09:03 are late but not misfires, so each would fire.
      const events = given([withPolicies('fire_once', 'forbid')]).when(fire('2026-11-22T09:01:00.000Z', at(180_500), 300_000)).events();
      expect(outcomes(events)).toEqual(['JobFired:09:01:schedule', 'ExecutionSkipped:09:02:overlap', 'ExecutionSkipped:09:03:overlap']);
    });

    it('replace: the running execution is cancelled and the new one fires', () => {
      const running = firedEvent('2026-11-22T09:01:00.000Z', at(60_000).toISOString(), '2026-11-22T09:02:00.000Z');
      const events = given([withPolicies('fire_once', 'replace'), running]).when(fire('2026-11-22T09:02:00.000Z', at(120_100))).events();
      expect(events.map((e) => e.type)).toEqual(['ExecutionCancelled', 'JobFired']);
      expect(events[0]!.data).toMatchObject({ executionId: executionIdFor(JOB, '2026-11-22T09:01:00.000Z'), reason: 'replaced' });
      expect(Object.keys(fold([withPolicies('fire_once', 'replace'), running, ...events]).openExecutions)).toEqual([executionIdFor(JOB, '2026-11-22T09:02:00.000Z')]);
    });

    it('allow: runs overlap', () => {
      const running = firedEvent('2026-11-22T09:01:00.000Z', at(60_000).toISOString(), '2026-11-22T09:02:00.000Z');
      expect(outcomes(given([withPolicies('fire_once', 'allow'), running]).when(fire('2026-11-22T09:02:00.000Z', at(120_100))).events())).toEqual(['JobFired:09:02:schedule']);
    });

    it('a one-off whose only instant is skipped is done', () => {
      const oneOff: JobEvent = {
        type: 'JobCreated',
        data: { jobId: JOB, ownerId: 'owner', spec: { ...spec({ kind: 'at', runAt: at(1000).toISOString() }), misfirePolicy: 'skip' }, createdAt: T0.toISOString(), nextRunAt: at(1000).toISOString() },
      };
      expect(given([oneOff]).when(fire(at(1000).toISOString(), at(90_000))).events().map((e) => e.type)).toEqual(['ExecutionSkipped', 'JobCompleted']);
    });
  });

  describe('lifecycle', () => {
    const history = [created(everyMinute, '2026-11-22T09:01:00.000Z')];
    const paused: JobEvent = { type: 'JobPaused', data: { jobId: JOB, note: 'maintenance', pausedAt: at(1000).toISOString() } };

    it('pauses an active job with a note', () => {
      given(history).when({ type: 'PauseJob', now: at(1000), data: { note: 'maintenance' } }).then([paused]);
    });

    it('refuses to pause a paused job', () => {
      given([...history, paused]).when({ type: 'PauseJob', now: at(2000), data: {} }).thenThrows(IllegalStateError);
    });

    it('resumes at the next instant after now: paused instants are skipped, each recorded', () => {
      const events = given([...history, paused]).when({ type: 'ResumeJob', now: at(185_000), data: {} }).events();
      const skipped = (minute: string): JobEvent => ({
        type: 'ExecutionSkipped',
        data: {
          jobId: JOB,
          executionId: executionIdFor(JOB, `2026-11-22T09:0${minute}:00.000Z`),
          scheduledAt: `2026-11-22T09:0${minute}:00.000Z`,
          reason: 'paused',
          detail: 'the job was paused at this instant',
          skippedAt: at(185_000).toISOString(),
          nextRunAt: '2026-11-22T09:04:00.000Z',
        },
      });
      expect(events).toEqual([
        skipped('1'),
        skipped('2'),
        skipped('3'),
        { type: 'JobResumed', data: { jobId: JOB, resumedAt: at(185_000).toISOString(), nextRunAt: '2026-11-22T09:04:00.000Z' } },
      ]);
      expect(fold([...history, paused, ...events])).toMatchObject({ status: 'active', nextRunAt: '2026-11-22T09:04:00.000Z', lastScheduledAt: '2026-11-22T09:03:00.000Z' });
    });

    it('cancels, and then refuses to resume', () => {
      const cancelled: JobEvent = { type: 'JobCancelled', data: { jobId: JOB, cancelledAt: at(1).toISOString() } };
      given(history).when({ type: 'CancelJob', now: at(1), data: {} }).then([cancelled]);
      given([...history, cancelled]).when({ type: 'ResumeJob', now: at(2), data: {} }).thenThrows(IllegalStateError);
    });

    it('deletes, and then the job is not found', () => {
      const deleted: JobEvent = { type: 'JobDeleted', data: { jobId: JOB, deletedAt: at(1).toISOString() } };
      given(history).when({ type: 'DeleteJob', now: at(1), data: {} }).then([deleted]);
      given([...history, deleted]).when({ type: 'DeleteJob', now: at(2), data: {} }).thenThrows(NotFoundError, 'JOB_NOT_FOUND');
    });

    it('reschedules and recomputes the next instant', () => {
      const schedule: Schedule = { kind: 'interval', everyMs: 5000, startAt: at(10_000).toISOString() };
      given(history)
        .when({ type: 'RescheduleJob', now: at(1), data: { schedule } })
        .then([{ type: 'JobRescheduled', data: { jobId: JOB, schedule, rescheduledAt: at(1).toISOString(), nextRunAt: at(10_000).toISOString() } }]);
    });

    it('updates the spec and recomputes the next instant', () => {
      const newSpec = spec({ kind: 'at', runAt: '2026-12-01T00:00:00.000Z' });
      given(history)
        .when({ type: 'UpdateJob', now: at(1), data: { spec: newSpec } })
        .then([{ type: 'JobUpdated', data: { jobId: JOB, spec: newSpec, updatedAt: at(1).toISOString(), nextRunAt: '2026-12-01T00:00:00.000Z' } }]);
    });

    it('triggers a manual run without moving the schedule', () => {
      given(history)
        .when({ type: 'TriggerJob', now: at(5), data: { executionId: 'manual-1' } })
        .then([
          {
            type: 'JobFired',
            data: { jobId: JOB, executionId: 'manual-1', scheduledAt: at(5).toISOString(), firedAt: at(5).toISOString(), trigger: 'manual', attempt: 1, nextRunAt: '2026-11-22T09:01:00.000Z' },
          },
        ]);
    });
  });

  describe('execution lifecycle', () => {
    const oneOff: Schedule = { kind: 'at', runAt: at(1000).toISOString() };
    const history = [created(oneOff, at(1000).toISOString()), firedEvent(at(1000).toISOString(), at(1000).toISOString(), null, 'exec-1')];
    const started: JobEvent = {
      type: 'ExecutionStarted',
      data: { jobId: JOB, executionId: 'exec-1', startedAt: at(1100).toISOString(), workerId: 'w1', attempt: 1 },
    };

    it('records the start of a queued execution once', () => {
      given(history).when({ type: 'StartExecution', now: at(1100), data: { executionId: 'exec-1', workerId: 'w1' } }).then([started]);
      given([...history, started]).when({ type: 'StartExecution', now: at(1200), data: { executionId: 'exec-1', workerId: 'w1' } }).then([]);
    });

    it('completes a one-off job when its run succeeds', () => {
      given([...history, started])
        .when({ type: 'FinishExecution', now: at(1500), data: { executionId: 'exec-1', workerId: 'w1', outcome: 'succeeded', output: { ok: true } } })
        .then([
          { type: 'ExecutionFinished', data: { jobId: JOB, executionId: 'exec-1', outcome: 'succeeded', finishedAt: at(1500).toISOString(), durationMs: 400, output: { ok: true } } },
          { type: 'JobCompleted', data: { jobId: JOB, completedAt: at(1500).toISOString() } },
        ]);
    });

    it('records start and end together for a short run', () => {
      given(history)
        .when({ type: 'FinishExecution', now: at(1050), data: { executionId: 'exec-1', workerId: 'w1', outcome: 'timed_out', startedAt: at(1010).toISOString(), error: 'timed out' } })
        .then([
          { type: 'ExecutionStarted', data: { jobId: JOB, executionId: 'exec-1', startedAt: at(1010).toISOString(), workerId: 'w1', attempt: 1 } },
          { type: 'ExecutionFinished', data: { jobId: JOB, executionId: 'exec-1', outcome: 'timed_out', finishedAt: at(1050).toISOString(), durationMs: 40, error: 'timed out' } },
          // A timeout is a failed attempt: the first of three is retried (exponential, 1 s; no jitter sample given).
          {
            type: 'RetryScheduled',
            data: { jobId: JOB, executionId: 'exec-1', scheduledAt: at(1000).toISOString(), nextAttempt: 2, retryAt: at(2050).toISOString(), delayMs: 1000 },
          },
        ]);
    });

    it('folds a result reported twice once', () => {
      const finished: JobEvent = {
        type: 'ExecutionFinished',
        data: { jobId: JOB, executionId: 'exec-1', outcome: 'succeeded', finishedAt: at(1500).toISOString(), durationMs: 400 },
      };
      given([...history, started, finished])
        .when({ type: 'FinishExecution', now: at(1600), data: { executionId: 'exec-1', workerId: 'w2', outcome: 'failed' } })
        .then([]);
    });

    it('keeps a recurring job active after a failed run', () => {
      const recurring = [created(everyMinute, '2026-11-22T09:01:00.000Z'), firedEvent('2026-11-22T09:01:00.000Z', at(60_000).toISOString(), '2026-11-22T09:02:00.000Z', 'exec-1')];
      const events = given(recurring).when({ type: 'FinishExecution', now: at(61_000), data: { executionId: 'exec-1', workerId: 'w', outcome: 'failed', error: 'boom' } }).events();
      expect(events.map((e) => e.type)).toEqual(['ExecutionStarted', 'ExecutionFinished', 'RetryScheduled']);
      expect(fold([...recurring, ...events]).status).toBe('active');
    });
  });

  describe('retries and dead letters', () => {
    const oneOffSpec = (maxAttempts: number) => ({ ...spec({ kind: 'at', runAt: at(1000).toISOString() }), retryPolicy: { maxAttempts, backoff: 'fixed' as const, delayMs: 500, maxDelayMs: 10_000, jitter: false } });
    const createdWith = (maxAttempts: number): JobEvent => ({
      type: 'JobCreated',
      data: { jobId: JOB, ownerId: 'owner', spec: oneOffSpec(maxAttempts), createdAt: T0.toISOString(), nextRunAt: at(1000).toISOString() },
    });
    const first = firedEvent(at(1000).toISOString(), at(1000).toISOString(), null, 'e1');
    const fail = (executionId: string, now: Date, retryable = true): JobCommand => ({
      type: 'FinishExecution',
      now,
      data: { executionId, workerId: 'w', outcome: 'failed', error: 'HTTP 500', retryable, startedAt: at(1000).toISOString() },
    });

    it('computes each backoff, capped, and full jitter within [0, delay]', () => {
      const policy = { maxAttempts: 9, delayMs: 1000, maxDelayMs: 5000, jitter: false } as const;
      expect([1, 2, 3, 4].map((n) => retryDelayMs({ ...policy, backoff: 'fixed' }, n, 0.5))).toEqual([1000, 1000, 1000, 1000]);
      expect([1, 2, 3, 4].map((n) => retryDelayMs({ ...policy, backoff: 'linear' }, n, 0.5))).toEqual([1000, 2000, 3000, 4000]);
      expect([1, 2, 3, 4].map((n) => retryDelayMs({ ...policy, backoff: 'exponential' }, n, 0.5))).toEqual([1000, 2000, 4000, 5000]);
      expect(retryDelayMs({ ...policy, backoff: 'linear' }, 9, 0.5)).toBe(5000);
      const jittered = { ...policy, backoff: 'exponential' as const, jitter: true };
      expect(retryDelayMs(jittered, 3, 0)).toBe(0);
      expect(retryDelayMs(jittered, 3, 0.5)).toBe(2000);
      expect(retryDelayMs(jittered, 3, 0.999)).toBeLessThanOrEqual(4000);
      for (let i = 0; i < 50; i++) {
        const d = retryDelayMs(jittered, 2, i / 50);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(2000);
      }
    });

    it('schedules the next attempt of the same fire, then fires it as a retry with the same instant', () => {
      const events = given([createdWith(3), first]).when(fail('e1', at(1100))).events();
      const retry = events.find((e) => e.type === 'RetryScheduled')!;
      expect(retry.data).toMatchObject({ executionId: 'e1', nextAttempt: 2, retryAt: at(1600).toISOString(), delayMs: 500 });
      const history = [createdWith(3), first, ...events];
      given(history).when({ type: 'RetryExecution', now: at(1500), data: { executionId: 'e1' } }).thenThrows(FireRefusedError);
      const fired = given(history).when({ type: 'RetryExecution', now: at(1600), data: { executionId: 'e1' } }).events();
      expect(fired).toEqual([
        {
          type: 'JobFired',
          data: { jobId: JOB, executionId: executionIdFor(JOB, at(1000).toISOString(), 'attempt-2'), scheduledAt: at(1000).toISOString(), firedAt: at(1600).toISOString(), trigger: 'retry', attempt: 2, nextRunAt: null, retryOf: 'e1' },
        },
      ]);
      // A repeated retry timer changes nothing.
      given([...history, ...fired]).when({ type: 'RetryExecution', now: at(1700), data: { executionId: 'e1' } }).then([]);
      expect(fold([...history, ...fired]).status).toBe('active');
    });

    it('dead-letters the fire when the last attempt fails; the one-off job fails', () => {
      const events = given([createdWith(1), first]).when(fail('e1', at(1100))).events();
      expect(events.map((e) => e.type)).toEqual(['ExecutionStarted', 'ExecutionFinished', 'ExecutionDeadLettered', 'JobFailed']);
      expect(events[2]!.data).toMatchObject({ executionId: 'e1', attempts: 1, lastError: 'HTTP 500', reason: 'attempts_exhausted', scheduledAt: at(1000).toISOString() });
    });

    it('skips the remaining attempts of a failure that is not retryable, and says so', () => {
      const events = given([createdWith(5), first]).when(fail('e1', at(1100), false)).events();
      expect(events.map((e) => e.type)).toEqual(['ExecutionStarted', 'ExecutionFinished', 'ExecutionDeadLettered', 'JobFailed']);
      expect(events[2]!.data).toMatchObject({ reason: 'not_retryable', lastError: 'HTTP 500 (not retryable)', attempts: 1 });
    });

    it('a recurring job keeps its schedule after a dead letter', () => {
      const recurring: JobEvent = { type: 'JobCreated', data: { jobId: JOB, ownerId: 'owner', spec: { ...oneOffSpec(1), schedule: everyMinute }, createdAt: T0.toISOString(), nextRunAt: '2026-11-22T09:01:00.000Z' } };
      const fire1 = firedEvent('2026-11-22T09:01:00.000Z', at(60_000).toISOString(), '2026-11-22T09:02:00.000Z', 'e1');
      const events = given([recurring, fire1]).when(fail('e1', at(61_000))).events();
      expect(events.map((e) => e.type)).toEqual(['ExecutionStarted', 'ExecutionFinished', 'ExecutionDeadLettered']);
      expect(fold([recurring, fire1, ...events])).toMatchObject({ status: 'active', nextRunAt: '2026-11-22T09:02:00.000Z' });
    });

    it('retries a dead letter as a new execution with attempts counted afresh, or discards it', () => {
      const dead = given([createdWith(1), first]).when(fail('e1', at(1100))).events();
      const history = [createdWith(1), first, ...dead];
      const deadLetterId = (dead[2]!.data as { deadLetterId: string }).deadLetterId;
      const retried = given(history).when({ type: 'RetryDeadLetter', now: at(5000), data: { deadLetterId } }).events();
      expect(retried.map((e) => e.type)).toEqual(['DeadLetterRetried', 'JobFired']);
      expect(retried[1]!.data).toMatchObject({ trigger: 'retry', attempt: 1, scheduledAt: at(1000).toISOString() });
      const after = fold([...history, ...retried]);
      expect(after.status).toBe('active');
      expect(after.deadLetters).toEqual({});
      given([...history, ...retried]).when({ type: 'DiscardDeadLetter', now: at(6000), data: { deadLetterId } }).thenThrows(NotFoundError, 'DEAD_LETTER_NOT_FOUND');
      given(history).when({ type: 'DiscardDeadLetter', now: at(6000), data: { deadLetterId } }).then([{ type: 'DeadLetterDiscarded', data: { jobId: JOB, deadLetterId, discardedAt: at(6000).toISOString() } }]);
    });

    it('dead-letters work that JetStream gave up delivering', () => {
      const events = given([createdWith(3), first]).when({ type: 'DeadLetterExecution', now: at(90_000), data: { executionId: 'e1', error: 'delivered 5 times' } }).events();
      expect(events.map((e) => e.type)).toEqual(['ExecutionFinished', 'ExecutionDeadLettered', 'JobFailed']);
      expect(events[1]!.data).toMatchObject({ reason: 'max_deliveries', lastError: 'delivered 5 times' });
      given([createdWith(3), first, ...events]).when({ type: 'DeadLetterExecution', now: at(91_000), data: { executionId: 'e1', error: 'again' } }).then([]);
    });

    it('records a notification once', () => {
      const record: JobCommand = { type: 'RecordNotification', now: at(2000), data: { notificationId: 'n1', channel: 'email', trigger: 'failure', executionId: 'e1', to: 'a@b.c', attempts: 1, outcome: 'sent', messageId: '<m@x>' } };
      const sent = given([createdWith(1)]).when(record).events();
      expect(sent).toEqual([{ type: 'NotificationSent', data: { jobId: JOB, notificationId: 'n1', channel: 'email', trigger: 'failure', executionId: 'e1', to: 'a@b.c', attempts: 1, sentAt: at(2000).toISOString(), messageId: '<m@x>' } }]);
      given([createdWith(1), ...sent]).when(record).then([]);
    });
  });
});
