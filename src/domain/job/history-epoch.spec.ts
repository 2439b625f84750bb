import fc from 'fast-check';
import { IllegalStateError } from '../errors.js';
import { defaultRetryPolicy, withDefaults } from './job-spec.js';
import type { JobCommand } from './job.commands.js';
import { decide } from './job.decide.js';
import type { HistoryStats, JobEvent } from './job.events.js';
import { fold, type JobState } from './job.state.js';

const T0 = new Date('2026-11-22T09:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const JOB = 'job-1';
const stats: HistoryStats = { totalExecutions: 2, succeeded: 1, failed: 1, totalDurationMs: 30 };
const spec = withDefaults(
  { name: 'n', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'interval', everyMs: 60_000 }, historyLimit: 5 },
  { retryPolicy: { ...defaultRetryPolicy(), maxAttempts: 2, jitter: false }, timeoutMs: 30_000 },
);
const closeEpoch = (now: Date): JobCommand => ({ type: 'CloseHistoryEpoch', now, data: { stats } });

/** Runs commands against the state, keeping every event (a refused command appends nothing). */
function run(commands: JobCommand[], history: JobEvent[] = []): JobEvent[] {
  const events = [...history];
  for (const command of commands) {
    try {
      events.push(...decide(command, fold(events)));
    } catch (error) {
      if (!(error instanceof IllegalStateError) && (error as Error).name !== 'NotFoundError') throw error;
    }
  }
  return events;
}

const created = run([{ type: 'CreateJob', now: T0, data: { jobId: JOB, ownerId: 'owner', spec, executionId: 'e0' } }]);

describe('history epochs (retention, docs/architecture.md)', () => {
  it('given a job, when its history is closed, then one epoch carries the state as it stands and the counted stats', () => {
    const state = fold(created);
    expect(decide(closeEpoch(at(1000)), state)).toEqual([
      { type: 'HistoryEpochClosed', data: { jobId: JOB, closedAt: at(1000).toISOString(), state, stats } },
    ]);
  });

  it('given an epoch and nothing since, when closed again, then nothing is appended', () => {
    const history = run([closeEpoch(at(1000))], created);
    expect(decide(closeEpoch(at(2000)), fold(history))).toEqual([]);
  });

  it('given a retry pending, when the history is closed, then it is refused (the retry timer row needs the history)', () => {
    const fired = run([{ type: 'FireJob', now: at(60_000), data: { scheduledAt: at(60_000).toISOString(), misfireThresholdMs: 60_000, fireAllCap: 3 } }], created);
    const executionId = Object.keys(fold(fired).openExecutions)[0]!;
    const failed = run([{ type: 'FinishExecution', now: at(61_000), data: { executionId, workerId: 'w', outcome: 'failed', error: 'boom' } }], fired);
    expect(Object.keys(fold(failed).pendingRetries)).toHaveLength(1);
    expect(() => decide(closeEpoch(at(62_000)), fold(failed))).toThrow(IllegalStateError);
  });

  it('given a deleted job, when the history is closed, then it is not found (a deleted job keeps its history)', () => {
    const deleted = run([{ type: 'DeleteJob', now: at(1000), data: {} }], created);
    expect(() => decide(closeEpoch(at(2000)), fold(deleted))).toThrow('job not found');
  });

  it('the epoch records its version: the events since it are counted from there', () => {
    const history = run([closeEpoch(at(1000))], created);
    const state = fold(history);
    expect(state.epoch).toEqual({ closedAt: at(1000).toISOString(), version: state.version });
    expect(state.version).toBe(created.length + 1);
  });

  // What makes purging safe for the rules: whatever happened, folding from the epoch alone gives the job the whole
  // history gives (version and ETag included), and every later command is decided the same way.
  it('folding from the epoch alone equals folding the whole history, and decides every later command the same', () => {
    const command = fc.oneof(
      fc.constant<'fire'>('fire'),
      fc.constant<'succeed'>('succeed'),
      fc.constant<'fail'>('fail'),
      fc.constant<'start'>('start'),
      fc.constant<'pause'>('pause'),
      fc.constant<'resume'>('resume'),
      fc.constant<'trigger'>('trigger'),
      fc.constant<'retry'>('retry'),
      fc.constant<'epoch'>('epoch'),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), fc.array(command, { maxLength: 15 }), (before, after) => {
        let clock = 0;
        const toCommand = (kind: string, state: JobState): JobCommand => {
          clock += 61_000;
          const now = at(clock);
          const open = Object.values(state.openExecutions)[0];
          const retry = Object.values(state.pendingRetries)[0];
          switch (kind) {
            case 'fire':
              return { type: 'FireJob', now, data: { scheduledAt: state.nextRunAt ?? now.toISOString(), misfireThresholdMs: 60_000, fireAllCap: 3 } };
            case 'start':
              return { type: 'StartExecution', now, data: { executionId: open?.executionId ?? 'none', workerId: 'w' } };
            case 'succeed':
            case 'fail':
              return { type: 'FinishExecution', now, data: { executionId: open?.executionId ?? 'none', workerId: 'w', outcome: kind === 'succeed' ? 'succeeded' : 'failed', jitter: 0.5 } };
            case 'pause':
              return { type: 'PauseJob', now, data: {} };
            case 'resume':
              return { type: 'ResumeJob', now, data: {} };
            case 'trigger':
              return { type: 'TriggerJob', now, data: { executionId: `manual-${clock}` } };
            case 'retry':
              return { type: 'RetryExecution', now: at(clock + 3_600_000), data: { executionId: retry?.executionId ?? 'none' } };
            default:
              return closeEpoch(now);
          }
        };
        const play = (kinds: string[], history: JobEvent[]) => kinds.reduce((events, kind) => run([toCommand(kind, fold(events))], events), history);
        const beforeEpoch = play(before, created);
        let epochAt = beforeEpoch.length;
        const closed = run([closeEpoch(at((clock += 1000)))], beforeEpoch);
        if (closed.length === beforeEpoch.length) return; // refused (a retry pending) or nothing new: nothing to compare
        epochAt = beforeEpoch.length;
        const clockAtEpoch = clock;
        const whole = play(after, closed);
        clock = clockAtEpoch;
        const purged = play(after, closed.slice(epochAt));
        expect(purged).toEqual(whole.slice(epochAt));
        expect(fold(purged)).toEqual(fold(whole));
      }),
      { numRuns: 300 },
    );
  });
});
