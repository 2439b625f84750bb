import fc from 'fast-check';
import { checkFaultRun, type Delivery, type FaultObservations, type FaultRecord, type ObservedJob, type RecordedExecution } from './support/fault-invariants.js';

/**
 * The checks of test/faults.test.ts and bench/faults.ts, on observations made up here: a run where every
 * promise holds passes, and each broken promise is named. Without this, a check that can never fail would
 * let the fault test pass whatever Chronos did.
 */
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A recurring job every 2 s with `count` instants, each run once and delivered once, reported 100 ms later. */
function healthyRun(count: number): FaultObservations {
  const executions: RecordedExecution[] = [];
  const deliveries: Delivery[] = [];
  for (let i = 0; i < count; i++) {
    const at = T0 + i * 2000;
    executions.push({ id: `r-${i}`, scheduledAt: iso(at), attempt: 1, status: 'succeeded', finishedAt: iso(at + 100) });
    deliveries.push({ jobId: 'job-r', scheduledAt: iso(at), executionId: `r-${i}`, attempt: 1, at: at + 50 });
  }
  const recurring: ObservedJob = { id: 'job-r', kind: 'recurring', acknowledged: true, firstInstant: iso(T0), untilInstant: iso(T0 + count * 2000), everyMs: 2000, executions };
  const oneOff: ObservedJob = { id: 'job-a', kind: 'at', acknowledged: true, firstInstant: iso(T0 + 500), executions: [{ id: 'a-1', scheduledAt: iso(T0 + 500), attempt: 1, status: 'succeeded', finishedAt: iso(T0 + 600) }] };
  deliveries.push({ jobId: 'job-a', scheduledAt: iso(T0 + 500), executionId: 'a-1', attempt: 1, at: T0 + 550 });
  return { jobs: [recurring, oneOff], deliveries, faults: [], requests: [{ sentAt: T0, endedAt: T0 + 10, outcome: { kind: 'answered', status: 201, retryAfter: null } }] };
}

const invariants = (observed: FaultObservations) => checkFaultRun(observed).violations.map((v) => v.invariant);
const workerKill = (killedAt: number, backAt: number): FaultRecord => ({ target: 'worker', roles: ['worker'], killedAt, backAt });

describe('the fault-run invariants', () => {
  it('hold for a run where nothing went wrong', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), (count) => {
        const { violations, figures } = checkFaultRun(healthyRun(count));
        expect(violations).toEqual([]);
        expect(figures).toMatchObject({ distinctRuns: count + 1, repeats: 0, lostOneOffs: 0, acknowledgedOneOffs: 1 });
      }),
    );
  });

  it('name an acknowledged one-off that never reached the target, or that the API does not know', () => {
    const neverDelivered = healthyRun(3);
    neverDelivered.deliveries = neverDelivered.deliveries.filter((d) => d.jobId !== 'job-a');
    expect(invariants(neverDelivered)).toContain('acknowledged one-off job lost');
    const unknown = healthyRun(3);
    unknown.jobs[1]!.executions = undefined;
    expect(invariants(unknown)).toContain('acknowledged one-off job lost');
  });

  it('name an instant without an execution, and two executions of one instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 20 }).chain((count) => fc.tuple(fc.constant(count), fc.integer({ min: 0, max: count - 1 }))), ([count, missing]) => {
        const gap = healthyRun(count);
        gap.jobs[0]!.executions = gap.jobs[0]!.executions!.filter((e) => e.id !== `r-${missing}`);
        gap.deliveries = gap.deliveries.filter((d) => d.executionId !== `r-${missing}`);
        expect(invariants(gap)).toEqual(['instant neither fired nor recorded as skipped']);

        const twice = healthyRun(count);
        const original = twice.jobs[0]!.executions![missing]!;
        twice.jobs[0]!.executions!.push({ ...original, id: 'r-again' });
        twice.deliveries.push({ jobId: 'job-r', scheduledAt: original.scheduledAt, executionId: 'r-again', attempt: 1, at: Date.parse(original.scheduledAt) + 60 });
        expect(invariants(twice)).toEqual(['duplicate fire (two executions of one instant)', 'duplicate fire delivered (two executions of one instant reached the target)']);
      }),
    );
  });

  it('allow a run delivered again only across a fault that could have taken it from its worker', () => {
    const again = (faults: FaultRecord[]) => {
      const observed = healthyRun(3);
      observed.faults = faults;
      observed.jobs[0]!.executions![1]!.finishedAt = iso(T0 + 9000);
      observed.deliveries.push({ jobId: 'job-r', scheduledAt: iso(T0 + 2000), executionId: 'r-1', attempt: 1, at: T0 + 8000 });
      return observed;
    };
    // Delivered at T0+2050, worker killed at T0+3000, delivered again at T0+8000, reported at T0+9000: in flight at the kill.
    expect(checkFaultRun(again([workerKill(T0 + 3000, T0 + 4000)])).figures).toMatchObject({ repeats: 1, repeatsInFlight: 1, inFlightAtFault: [1] });
    expect(invariants(again([workerKill(T0 + 3000, T0 + 4000)]))).toEqual([]);
    // No fault, a fault that holds no runs (Redis), or one after the second delivery: a redelivery storm.
    for (const faults of [[], [{ target: 'redis', roles: [], killedAt: T0 + 3000, backAt: T0 + 4000 }], [workerKill(T0 + 8500, T0 + 8600)]]) {
      expect(invariants(again(faults))).toEqual(['run delivered again without a fault while it was in flight']);
    }
  });

  it('name a history that disagrees with what the target saw', () => {
    const queued = healthyRun(3);
    queued.jobs[0]!.executions![2]!.status = 'queued';
    expect(invariants(queued)).toEqual(['reached the target (which answered 200), recorded otherwise']);
    const phantom = healthyRun(3);
    phantom.deliveries = phantom.deliveries.filter((d) => d.executionId !== 'r-0');
    expect(invariants(phantom)).toEqual(['recorded as succeeded, never reached the target']);
    const open = healthyRun(3);
    open.jobs[0]!.executions!.push({ id: 'r-retry', scheduledAt: iso(T0), attempt: 2, status: 'running', finishedAt: null });
    expect(invariants(open)).toEqual(['still open after the run settled']);
    const unrecorded = healthyRun(3);
    unrecorded.deliveries.push({ jobId: 'job-r', scheduledAt: iso(T0), executionId: 'nowhere', attempt: 2, at: T0 + 70 });
    expect(invariants(unrecorded)).toEqual(['reached the target, not in the history']);
  });

  it('accept 2xx and 503 with Retry-After, and name every other answer, a refusal while an API ran, and a hang', () => {
    const answered = (status: number, retryAfter: string | null) => {
      const observed = healthyRun(1);
      observed.requests = [{ sentAt: T0, endedAt: T0 + 5, outcome: { kind: 'answered', status, retryAfter } }];
      return invariants(observed);
    };
    expect(answered(201, null)).toEqual([]);
    expect(answered(503, '5')).toEqual([]);
    for (const [status, retryAfter] of [[500, null], [503, null], [504, null], [429, '1']] as const) {
      expect(answered(status, retryAfter)).toEqual(['request answered neither 2xx nor 503 with Retry-After']);
    }
    const refused = healthyRun(1);
    refused.requests = [{ sentAt: T0 + 100, endedAt: T0 + 101, outcome: { kind: 'unreachable', code: 'ECONNREFUSED' } }];
    expect(invariants(refused)).toEqual(['request refused while an API process was running']);
    refused.faults = [{ target: 'api', roles: ['api'], killedAt: T0 + 50, backAt: T0 + 2000 }];
    expect(invariants(refused)).toEqual([]);
    const hang = healthyRun(1);
    hang.requests = [{ sentAt: T0, endedAt: T0 + 30_000, outcome: { kind: 'hang' } }];
    expect(invariants(hang)).toEqual(['request never answered (client timeout)']);
  });
});
