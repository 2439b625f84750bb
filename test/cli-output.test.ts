import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describeLifecycleEvent, lifecycleFilter, parseTypes } from '../src/cli/events-tail.command.js';
import { renderLogEntries } from '../src/cli/executions.command.js';
import { etaSecondsOf, progressBar, rebuildStateOf, renderProgressLine, type ProjectionStatus, type RebuildProgress } from '../src/cli/rebuild-progress.js';
import { renderFields, renderTable, truncate } from '../src/cli/table.js';
import { inline, terminalSafe } from '../src/cli/terminal.js';
import type { LifecycleType } from '../src/events/lifecycle-event.js';
import { formatDuration, formatMs, formatTime } from '../src/cli/time.js';

const JOB = '0b6a2f3e-8c1d-4e5f-9a7b-123456789abc';
const EXECUTION = '5d1c9e77-2b4a-4c3d-8e9f-abcdef012345';

describe('CLI output', () => {
  it('formats times and durations for people', () => {
    expect(formatTime('2026-11-22T09:00:00.123Z')).toBe('2026-11-22 09:00:00Z');
    expect(formatTime(null)).toBe('-');
    expect([0, 4.4, 59.6, 65, 3599, 3720, 90_000].map(formatDuration)).toEqual(['0s', '4s', '1m 00s', '1m 05s', '59m 59s', '1h 02m', '25h 00m']);
    expect([null, 12.4, 1500, 65_000].map(formatMs)).toEqual(['-', '12 ms', '1.5s', '1m 05s']);
  });

  it('aligns table columns and cuts long cells', () => {
    expect(renderTable(['ID', 'NAME', 'STATUS'], [['1', 'a long name', 'active'], ['22', 'b', '']])).toBe('ID  NAME         STATUS\n1   a long name  active\n22  b');
    expect(truncate('one\n  two three', 9)).toBe('one two …');
  });

  it('prints log entries one a line, with their metadata when they have any', () => {
    const entries = [
      { timestamp: '2026-11-22T09:00:00.000Z', level: 'info', message: 'started', metadata: {} },
      { timestamp: '2026-11-22T09:00:00.010Z', level: 'error', message: 'unexpected status 500', metadata: { status: 500 } },
    ];
    expect(renderLogEntries(entries, '  ')).toBe('  2026-11-22T09:00:00.000Z  info   started\n  2026-11-22T09:00:00.010Z  error  unexpected status 500  {"status":500}');
  });
});

describe('CLI rebuild progress', () => {
  const progress = (overrides: Partial<RebuildProgress> = {}): RebuildProgress => ({
    rebuildId: 'r1',
    position: 3000,
    target: 10_000,
    percent: 30,
    eventsPerSecond: 1500,
    etaSeconds: 5,
    startedAt: '2026-11-22T09:00:00.000Z',
    ...overrides,
  });

  it('draws a bar with percent, events/s and ETA on a terminal, and words elsewhere', () => {
    expect(renderProgressLine('jobs', progress(), 'tty')).toBe('jobs [██████░░░░░░░░░░░░░░]  30.0%  3,000/10,000 events  1,500 events/s  ETA 5s');
    expect(renderProgressLine('jobs', progress({ etaSeconds: 125 }), 'plain')).toBe('jobs: 30.0% (3,000/10,000 events, 1,500 events/s, ETA 2m 05s)');
    expect(progressBar(0, 4)).toBe('[░░░░]');
    expect(progressBar(140, 4)).toBe('[████]');
  });

  it("takes the server's ETA, else works it out from the rate, else says it is unknown", () => {
    expect(etaSecondsOf(progress())).toBe(5);
    expect(etaSecondsOf(progress({ etaSeconds: null }))).toBeCloseTo(7000 / 1500);
    expect(etaSecondsOf(progress({ etaSeconds: null, eventsPerSecond: 0 }))).toBeNull();
    expect(etaSecondsOf(progress({ etaSeconds: null, eventsPerSecond: 0, position: 10_000 }))).toBe(0);
    expect(renderProgressLine('jobs', progress({ etaSeconds: null, eventsPerSecond: 0 }), 'plain')).toContain('ETA unknown');
  });

  it("judges a rebuild by the read model's status and the id of its last rebuild", () => {
    const entry = (fields: Partial<ProjectionStatus>): ProjectionStatus => ({ name: 'jobs', position: 1, lagEvents: 0, status: 'live', stalledJobs: 0, ...fields });
    const outcome = { rebuildId: 'r1', startedAt: 'a', finishedAt: 'b' };
    expect(rebuildStateOf(entry({ status: 'rebuilding', progress: progress() }), 'r1')).toEqual({ state: 'running', progress: progress() });
    expect(rebuildStateOf(entry({ lastRebuild: { ...outcome, status: 'succeeded' } }), 'r1')).toEqual({ state: 'succeeded', outcome: { ...outcome, status: 'succeeded' } });
    expect(rebuildStateOf(entry({ lastRebuild: { ...outcome, status: 'failed', error: 'boom' } }), 'r1')).toEqual({ state: 'failed', error: 'boom' });
    expect(rebuildStateOf(entry({ lastRebuild: { ...outcome, rebuildId: 'r0', status: 'succeeded' } }), 'r1')).toEqual({ state: 'unknown' });
    expect(rebuildStateOf(undefined, 'r1')).toEqual({ state: 'unknown' });
  });
});

describe('CLI lifecycle events', () => {
  const event = (type: LifecycleType, data: Record<string, unknown>, time = '2026-11-22T09:00:00.000Z') => ({ type: `chronos.${type}` as const, subject: JOB, time, data: { jobId: JOB, ...data } });

  it('says in one line what happened: time, type, job and name, details', () => {
    const created = event('job.created', { spec: { name: 'Nightly', type: 'http' }, nextRunAt: '2026-11-23T09:00:00.000Z' });
    expect(describeLifecycleEvent(created, 'Nightly')).toBe(`2026-11-22T09:00:00.000Z  job.created                ${JOB} "Nightly"  http job, next run 2026-11-23T09:00:00.000Z`);
    const failed = event('execution.failed', { executionId: EXECUTION, outcome: 'failed', durationMs: 12, error: 'unexpected status 500' });
    expect(describeLifecycleEvent(failed)).toBe(`2026-11-22T09:00:00.000Z  execution.failed           ${JOB}  execution ${EXECUTION}, took 12 ms, error: unexpected status 500`);
    const retry = event('execution.retry_scheduled', { executionId: EXECUTION, nextAttempt: 2, retryAt: '2026-11-22T09:00:01.000Z', delayMs: 1000 });
    expect(describeLifecycleEvent(retry)).toContain(`execution ${EXECUTION}, attempt 2 at 2026-11-22T09:00:01.000Z`);
    const deadLettered = event('execution.dead_lettered', { executionId: EXECUTION, attempts: 3, reason: 'attempts_exhausted', lastError: 'unexpected status 500' });
    expect(describeLifecycleEvent(deadLettered)).toContain('after 3 attempts, reason attempts_exhausted, error: unexpected status 500');
    expect(describeLifecycleEvent({ ...event('job.paused', { note: 'maintenance' }), chronosreplay: true })).toMatch(/job\.paused +\S+ {2}note: maintenance {2}\(replay\)$/);
  });

  it('filters by job, by type or group, and by time', () => {
    const failed = event('execution.failed', {});
    expect(lifecycleFilter({ types: [] })(failed)).toBe(true);
    expect(lifecycleFilter({ jobId: 'another', types: [] })(failed)).toBe(false);
    expect(lifecycleFilter({ types: ['execution'] })(failed)).toBe(true);
    expect(lifecycleFilter({ types: ['job', 'execution.succeeded'] })(failed)).toBe(false);
    expect(lifecycleFilter({ types: [], since: '2026-11-22T09:00:00.001Z' })(failed)).toBe(false);
    expect(parseTypes('chronos.execution.failed, job')).toEqual(['execution.failed', 'job']);
    expect(() => parseTypes('execution.faild')).toThrow(/unknown event type execution\.faild/);
  });
});

describe('CLI terminal safety', () => {
  /** What a terminal would obey rather than show: C0 but LF and TAB, DEL, C1, bidi controls, line separators. */
  const OBEYED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
  const HOSTILE = 'Nightly\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b]52;c;ZWNobyBwd25lZA==\x07\u009b2J\u202egnp.exe\r\nerror FAKE: spoofed';

  it('shows control characters as escapes: inline values keep no line break, written text only its own', () => {
    expect(inline(HOSTILE)).toBe('Nightly\\u001b[2J\\u001b[H\\u001b]0;pwned\\u0007\\u001b]52;c;ZWNobyBwd25lZA==\\u0007\\u009b2J\\u202egnp.exe\\r\\nerror FAKE: spoofed');
    expect(terminalSafe(`line one\n\t${HOSTILE}`)).toMatch(/^line one\n\tNightly\\u001b\[2J/);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(inline(text)).not.toMatch(OBEYED);
        expect(inline(text)).not.toMatch(/[\n\t]/);
        expect(terminalSafe(text)).not.toMatch(OBEYED);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps JSON output valid and meaning the same', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = terminalSafe(JSON.stringify({ value, name: HOSTILE }, null, 2));
        expect(text).not.toMatch(OBEYED);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify({ value, name: HOSTILE })));
      }),
      { numRuns: 500 },
    );
  });

  it('escapes the data in tables, fields, log lines and event lines', () => {
    expect(renderTable(['NAME'], [[HOSTILE]])).not.toMatch(OBEYED);
    expect(renderTable(['NAME'], [[HOSTILE]]).split('\n')).toHaveLength(2);
    expect(renderFields([['name', HOSTILE]]).split('\n')).toHaveLength(1);
    const log = renderLogEntries([{ timestamp: HOSTILE, level: HOSTILE, message: HOSTILE, metadata: { HOSTILE } }]);
    expect(log).not.toMatch(OBEYED);
    expect(log.split('\n')).toHaveLength(1);
    const line = describeLifecycleEvent({ type: 'chronos.job.created', subject: HOSTILE, time: HOSTILE, data: { spec: { type: HOSTILE }, error: HOSTILE } }, HOSTILE);
    expect(line).not.toMatch(OBEYED);
    expect(line.split('\n')).toHaveLength(1);
  });

  it('writes to the terminal from one module only', () => {
    const dir = resolve(process.cwd(), 'src/cli');
    const writers = readdirSync(dir)
      .filter((file) => file.endsWith('.ts') && file !== 'terminal.ts')
      .filter((file) => /console\.(log|error|warn|info)|process\.(stdout|stderr)\.write|\.write\(/.test(readFileSync(resolve(dir, file), 'utf8')));
    expect(writers).toEqual([]);
  });
});
