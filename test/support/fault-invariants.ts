/**
 * What a fault-injection run promises, checked from outside (test/faults.test.ts, bench/faults.ts): from what a
 * local target saw, what the API recorded, and when each fault happened. Pure functions over observations, so
 * that each check can be shown to fail (test/fault-invariants.test.ts).
 */

/** One request that reached the target: what Chronos's headers say it is, and when it came. */
export interface Delivery {
  jobId: string;
  scheduledAt: string;
  executionId: string;
  attempt: number;
  at: number;
}

/** One execution as the API lists it (GET /jobs/:id/executions). */
export interface RecordedExecution {
  id: string;
  scheduledAt: string;
  attempt: number;
  status: string;
  finishedAt: string | null;
}

/** A job of the load and what the API says of it after the run. */
export interface ObservedJob {
  id: string;
  kind: 'recurring' | 'at' | 'immediate';
  /** Whether the create was acknowledged (2xx); a job found only through the target was created by a request answered otherwise. */
  acknowledged: boolean;
  /** Recurring jobs: every instant from `firstInstant` on, every `everyMs`, before `untilInstant` (the pause's nextRunAt), has one outcome. */
  firstInstant?: string;
  untilInstant?: string;
  everyMs?: number;
  /** Undefined when the API does not know the job (404). */
  executions: RecordedExecution[] | undefined;
}

/** One kill -9: of a service or of a Chronos process (`roles` says what it ran), and when what was killed was back. */
export interface FaultRecord {
  target: string;
  roles: string[];
  killedAt: number;
  /** The service accepted connections again / the new Chronos process had started. */
  backAt: number;
  /** Not a fault injected: the Chronos process exited by itself (and was started again). */
  crashed?: boolean;
}

/** How one API request of the load ended. */
export type RequestOutcome =
  | { kind: 'answered'; status: number; retryAfter: string | null }
  /** The connection was refused or reset: no API process was there to answer. */
  | { kind: 'unreachable'; code: string }
  /** No answer within the client's timeout. */
  | { kind: 'hang' };

export interface RequestRecord {
  sentAt: number;
  endedAt: number;
  outcome: RequestOutcome;
}

export interface FaultObservations {
  jobs: ObservedJob[];
  deliveries: Delivery[];
  faults: FaultRecord[];
  requests: RequestRecord[];
}

/** A broken promise: which one, and the examples that break it (the first few). */
export interface Violation {
  invariant: string;
  count: number;
  examples: string[];
}

export interface FaultFigures {
  acknowledgedOneOffs: number;
  lostOneOffs: number;
  unaccountedInstants: number;
  duplicateFires: number;
  distinctRuns: number;
  /** Deliveries of a run after its first. */
  repeats: number;
  /** Repeats of runs that were in flight (delivered, not yet reported) at a fault between their deliveries. */
  repeatsInFlight: number;
  /** Jobs whose recorded executions disagree with what the target saw. */
  jobsDisagreeing: number;
  requests: Record<string, number>;
  /** Chronos processes that exited by themselves. */
  crashes: number;
  /** Per fault: the runs in flight at it (delivered before it was back, reported after it began, delivered again after it). */
  inFlightAtFault: number[];
}

const MAX_EXAMPLES = 5;

/** Runs that are still in progress (not a recorded outcome). */
const OPEN = new Set(['queued', 'running']);

/** Faults that can make a delivered run be delivered again: whatever held it (a worker) or its acknowledgement (NATS) died. */
const canRepeatRuns = (fault: FaultRecord) => fault.target === 'nats' || fault.roles.includes('worker');
/** Faults during which the API cannot answer at all. */
const silencesApi = (fault: FaultRecord) => fault.roles.includes('api');

export function checkFaultRun(observed: FaultObservations): { figures: FaultFigures; violations: Violation[] } {
  const violations = new Map<string, Violation>();
  const violate = (invariant: string, example: string) => {
    const violation = violations.get(invariant) ?? { invariant, count: 0, examples: [] };
    violation.count++;
    if (violation.examples.length < MAX_EXAMPLES) violation.examples.push(example);
    violations.set(invariant, violation);
  };

  const byExecution = new Map<string, Delivery[]>();
  for (const delivery of [...observed.deliveries].sort((a, b) => a.at - b.at)) {
    const list = byExecution.get(delivery.executionId) ?? [];
    list.push(delivery);
    byExecution.set(delivery.executionId, list);
  }
  const recorded = new Map<string, RecordedExecution>();
  for (const job of observed.jobs) for (const execution of job.executions ?? []) recorded.set(execution.id, execution);

  // No acknowledged job lost: every acknowledged one-off job is known, ran once to the target, and says so.
  let acknowledgedOneOffs = 0;
  let lostOneOffs = 0;
  for (const job of observed.jobs) {
    if (job.kind === 'recurring' || !job.acknowledged) continue;
    acknowledgedOneOffs++;
    const succeeded = (job.executions ?? []).filter((e) => e.status === 'succeeded');
    const delivered = succeeded.some((e) => byExecution.has(e.id));
    if (!job.executions || !delivered) {
      lostOneOffs++;
      violate('acknowledged one-off job lost', `${job.kind} job ${job.id}: ${job.executions ? `executions ${describe(job.executions)}` : 'unknown to the API'}`);
    }
  }

  // Every instant accounted for, once: a recurring job's every instant up to its pause, a one-off's one instant.
  let unaccountedInstants = 0;
  let duplicateFires = 0;
  for (const job of observed.jobs) {
    const firsts = new Map<string, RecordedExecution[]>();
    for (const execution of job.executions ?? []) {
      if (execution.attempt !== 1) continue;
      const key = new Date(execution.scheduledAt).toISOString();
      firsts.set(key, [...(firsts.get(key) ?? []), execution]);
    }
    for (const [instant, executions] of firsts) {
      if (executions.length > 1) {
        duplicateFires += executions.length - 1;
        violate('duplicate fire (two executions of one instant)', `job ${job.id} at ${instant}: ${describe(executions)}`);
      }
    }
    const expected = expectedInstants(job);
    for (const instant of expected) {
      if (!firsts.has(instant)) {
        unaccountedInstants++;
        violate('instant neither fired nor recorded as skipped', `${job.kind} job ${job.id} at ${instant}`);
      }
    }
  }
  // The target's view of duplicate fires: two executions of one instant both delivered.
  const firstAttempts = new Map<string, Set<string>>();
  for (const delivery of observed.deliveries) {
    if (delivery.attempt !== 1) continue;
    const key = `${delivery.jobId}:${new Date(delivery.scheduledAt).toISOString()}`;
    firstAttempts.set(key, (firstAttempts.get(key) ?? new Set()).add(delivery.executionId));
  }
  for (const [key, executions] of firstAttempts) {
    if (executions.size > 1) violate('duplicate fire delivered (two executions of one instant reached the target)', `${key}: ${[...executions].join(', ')}`);
  }

  // Repeats: a run delivered again is allowed only when it was in flight at a fault between the two deliveries (it
  // had reached the target before what held it or its acknowledgement was back, and was reported only after the
  // fault began); everything else is a redelivery storm.
  let repeats = 0;
  let repeatsInFlight = 0;
  const inFlightAtFault = observed.faults.map(() => new Set<string>());
  for (const [executionId, deliveries] of byExecution) {
    const finishedAt = recorded.get(executionId)?.finishedAt;
    const reportedAt = finishedAt ? Date.parse(finishedAt) : Infinity;
    for (let i = 1; i < deliveries.length; i++) {
      repeats++;
      const [previous, next] = [deliveries[i - 1]!, deliveries[i]!];
      const fault = observed.faults.findIndex((f) => canRepeatRuns(f) && previous.at <= f.backAt && f.killedAt <= next.at && reportedAt >= f.killedAt);
      if (fault >= 0) {
        repeatsInFlight++;
        inFlightAtFault[fault]!.add(executionId);
      } else {
        violate('run delivered again without a fault while it was in flight', `execution ${executionId} (job ${next.jobId} at ${next.scheduledAt}, attempt ${next.attempt}): delivered at ${deliveries.map((d) => iso(d.at)).join(', ')}; reported ${finishedAt ?? 'never'}`);
      }
    }
  }

  // The recorded history equals what the target saw: every run it saw succeeded, every success reached it, nothing open.
  const disagreeing = new Set<string>();
  for (const job of observed.jobs) {
    for (const execution of job.executions ?? []) {
      const delivered = byExecution.has(execution.id);
      if (execution.status === 'succeeded' && !delivered) {
        disagreeing.add(job.id);
        violate('recorded as succeeded, never reached the target', `job ${job.id}: execution ${execution.id} at ${execution.scheduledAt}`);
      } else if (delivered && execution.status !== 'succeeded') {
        disagreeing.add(job.id);
        violate('reached the target (which answered 200), recorded otherwise', `job ${job.id}: execution ${execution.id} at ${execution.scheduledAt} is ${execution.status}`);
      } else if (OPEN.has(execution.status)) {
        disagreeing.add(job.id);
        violate('still open after the run settled', `job ${job.id}: execution ${execution.id} at ${execution.scheduledAt} is ${execution.status}`);
      }
    }
  }
  for (const [executionId, [delivery]] of byExecution) {
    if (!recorded.has(executionId)) {
      disagreeing.add(delivery!.jobId);
      violate('reached the target, not in the history', `job ${delivery!.jobId}: execution ${executionId} at ${delivery!.scheduledAt}`);
    }
  }

  // No Chronos process exits by itself, whatever happened to the others.
  for (const fault of observed.faults) {
    if (fault.crashed) violate('a Chronos process exited by itself', `${fault.target} at ${iso(fault.killedAt)}`);
  }

  // Every API request answered: 2xx, or 503 with Retry-After; unreachable only while no API process ran; no hang.
  const requests: Record<string, number> = {};
  for (const request of observed.requests) {
    const { outcome } = request;
    const label = outcome.kind === 'answered' ? `${outcome.status}${outcome.status === 503 && outcome.retryAfter !== null ? ' Retry-After' : ''}` : outcome.kind;
    requests[label] = (requests[label] ?? 0) + 1;
    const when = `sent ${iso(request.sentAt)}, ended ${iso(request.endedAt)}`;
    if (outcome.kind === 'hang') violate('request never answered (client timeout)', when);
    else if (outcome.kind === 'unreachable') {
      const apiDown = observed.faults.some((f) => silencesApi(f) && request.sentAt <= f.backAt && f.killedAt <= request.endedAt);
      if (!apiDown) violate('request refused while an API process was running', `${outcome.code}, ${when}`);
    } else if (!(outcome.status >= 200 && outcome.status < 300) && !(outcome.status === 503 && outcome.retryAfter !== null)) {
      violate('request answered neither 2xx nor 503 with Retry-After', `${outcome.status}, ${when}`);
    }
  }

  return {
    figures: {
      acknowledgedOneOffs,
      lostOneOffs,
      unaccountedInstants,
      duplicateFires,
      distinctRuns: byExecution.size,
      repeats,
      repeatsInFlight,
      jobsDisagreeing: disagreeing.size,
      requests,
      crashes: observed.faults.filter((f) => f.crashed).length,
      inFlightAtFault: inFlightAtFault.map((runs) => runs.size),
    },
    violations: [...violations.values()],
  };
}

/** The instants a job must have an outcome for: a recurring job's from its first until its pause, a one-off's one. */
function expectedInstants(job: ObservedJob): string[] {
  if (job.kind !== 'recurring') {
    // A one-off has exactly one instant; which one the API knows (an immediate job's is its creation).
    return job.acknowledged && job.firstInstant ? [new Date(job.firstInstant).toISOString()] : [];
  }
  if (!job.firstInstant || !job.untilInstant || !job.everyMs) return [];
  const instants: string[] = [];
  for (let at = Date.parse(job.firstInstant); at < Date.parse(job.untilInstant); at += job.everyMs) instants.push(new Date(at).toISOString());
  return instants;
}

/** How soon after a fault the fires due after it reached the target. */
export interface Recovery {
  target: string;
  killedAt: string;
  /** How long what was killed was away (until it accepted connections, or had started again). */
  downMs: number;
  /** The first instant due after the kill that fired (recorded with an attempt, not skipped). */
  firstInstant: string | undefined;
  /** From the kill until every run of that instant had reached the target (undefined: some never did). */
  firstFireAfterMs: number | undefined;
  /** How late the last of them came against the instant. */
  firstFireLateMs: number | undefined;
}

/** Per fault: the first instant due after it that fired, and when all of its runs had reached the target. */
export function recoveries({ faults, jobs, deliveries }: Pick<FaultObservations, 'faults' | 'jobs' | 'deliveries'>): Recovery[] {
  const firstDelivery = new Map<string, number>();
  for (const delivery of deliveries) firstDelivery.set(delivery.executionId, Math.min(delivery.at, firstDelivery.get(delivery.executionId) ?? Infinity));
  const fired = jobs.flatMap((job) => (job.executions ?? []).filter((e) => e.attempt === 1 && e.status !== 'skipped' && e.status !== 'cancelled'));
  return faults.map((fault) => {
    const after = fired.filter((e) => Date.parse(e.scheduledAt) > fault.killedAt);
    const instant = Math.min(...after.map((e) => Date.parse(e.scheduledAt)));
    const runs = after.filter((e) => Date.parse(e.scheduledAt) === instant);
    const last = runs.length > 0 && runs.every((e) => firstDelivery.has(e.id)) ? Math.max(...runs.map((e) => firstDelivery.get(e.id)!)) : undefined;
    return {
      target: fault.target,
      killedAt: iso(fault.killedAt),
      downMs: fault.backAt - fault.killedAt,
      firstInstant: runs.length > 0 ? iso(instant) : undefined,
      firstFireAfterMs: last === undefined ? undefined : last - fault.killedAt,
      firstFireLateMs: last === undefined ? undefined : last - instant,
    };
  });
}

const iso = (ms: number) => new Date(ms).toISOString();
const describe = (executions: RecordedExecution[]) => executions.map((e) => `${e.id.slice(0, 8)} attempt ${e.attempt} ${e.status}`).join(', ') || 'none';
