import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { HttpSink } from './http-sink.js';
import { ChronosProcess } from './processes.js';
import type { Service, StackServices } from './services.js';
import { resetStack, sleep, type Json } from './stack.js';
import { checkFaultRun, recoveries, type Delivery, type FaultRecord, type ObservedJob, type RecordedExecution, type RequestOutcome, type RequestRecord } from './fault-invariants.js';

/**
 * Fault injection with real processes (issue 15): Chronos as child processes (`node dist/main.js`), all roles in
 * one or one process per role, under load against a local target; kill -9 of Chronos processes, nats-server,
 * the PostgreSQL postmaster and Redis, each started again as before; then what the target saw and what the API
 * recorded are compared (fault-invariants.ts). test/faults.test.ts runs a short form, bench/faults.ts the long one.
 */

/** `combined`: every role in one process; `split`: one process each for api, scheduler, worker and projector. */
export type Topology = 'combined' | 'split';
/** What a fault kills: a service, the combined process (`chronos`), or the process of one role (split). */
export type FaultTarget = Service | 'chronos' | 'api' | 'scheduler' | 'worker' | 'projector';

export interface FaultStep {
  target: FaultTarget;
  /** How long what was killed stays down before it is started again. */
  downMs: number;
  /**
   * When to kill it, from the start of the load (the benchmark's fixed timetable). Unset: once every recurring
   * job has fired again after the previous fault (progress, not time: the test's pace on any machine).
   */
  atMs?: number;
}

export interface FaultLoad {
  /** `http` jobs on `*\/2 * * * * *` (every 2 s), misfire `fire_once`, concurrency `allow`, 3 attempts. */
  recurringJobs: number;
  /** One-off `at` jobs, created before the faults, due spread over `atSpreadMs`. */
  atJobs: number;
  atSpreadMs: number;
  /** One immediate job created every this often while faults happen (each request on its own: a hang does not hold back the next). */
  immediateEveryMs: number;
}

export interface FaultScenario {
  topology: Topology;
  load: FaultLoad;
  faults: FaultStep[];
  services: StackServices;
  /** Settings of every Chronos process, over the test environment. */
  env?: Record<string, string>;
  /** A request of the load without an answer within this is a hang. */
  requestTimeoutMs: number;
  /** How long to wait for the pipeline to drain and agree once the load ends, before checking anyway. */
  settleCapMs: number;
  /** Each Chronos process's output is written here (one file per process start) when set. */
  logDir?: string;
  log?: (message: string) => void;
}

export interface FaultRunResult {
  checked: ReturnType<typeof checkFaultRun>;
  recoveries: ReturnType<typeof recoveries>;
  /** From the pause of the recurring jobs (the end of the load) to the API's history agreeing with the target (undefined: not within settleCapMs). */
  agreementAfterMs: number | undefined;
  windowMs: number;
  jobs: { recurring: number; at: number; immediate: number };
}

const ROLES_OF: Record<string, string> = { chronos: 'api,scheduler,worker,projector', api: 'api', scheduler: 'scheduler', worker: 'worker', projector: 'projector' };
const SERVICES = new Set<FaultTarget>(['nats', 'postgres', 'redis']);
const EVERY_MS = 2000;
/** The longest a Chronos process may take to start on a busy machine (a start that fails is tried again, like a supervisor). */
const START_TIMEOUT_MS = 180_000;
/** The target must see no new run for this long before the run counts as drained. */
const QUIET_MS = 3000;

export async function runFaultScenario(scenario: FaultScenario): Promise<FaultRunResult> {
  const log = scenario.log ?? (() => undefined);
  await resetStack();
  const sink = await new HttpSink().start();
  const apiPort = await freePort();
  const processes = new ChronosProcesses(scenario, apiPort, log);
  try {
    await processes.startAll();
    const api = new LoadClient(`http://127.0.0.1:${apiPort}`, scenario.requestTimeoutMs);
    await api.signUp();

    // The jobs that exist before the faults: recurring ones, and one-offs due over the coming window.
    const jobs = new Map<string, ObservedJob>();
    const recurring: string[] = [];
    await inParallel(scenario.load.recurringJobs, 16, async (i) => {
      const job = await api.mustCreate(recurringJob(i, sink.url('/faults/recurring')));
      recurring.push(job.id);
      jobs.set(job.id, { id: job.id, kind: 'recurring', acknowledged: true, firstInstant: job.nextRunAt, everyMs: EVERY_MS, executions: undefined });
    });
    // Due from when creating them should be over (at 25 a second or more: a busy two-core machine) on.
    const atStart = Date.now() + 5000 + scenario.load.atJobs * 40;
    await inParallel(scenario.load.atJobs, 16, async (i) => {
      const runAt = new Date(atStart + Math.floor((i * scenario.load.atSpreadMs) / Math.max(1, scenario.load.atJobs))).toISOString();
      const job = await api.mustCreate(atJob(i, runAt, sink.url('/faults/at')));
      jobs.set(job.id, { id: job.id, kind: 'at', acknowledged: true, firstInstant: runAt, executions: undefined });
    });
    log(`created ${recurring.length} recurring and ${scenario.load.atJobs} at jobs`);
    // The load begins with the first one-off due, so that they fall due during the faults however fast creating them was.
    await sleep(atStart - Date.now());

    // The load: an immediate job every immediateEveryMs, each request on its own, until the faults are over.
    const loadStart = Date.now();
    const requests: RequestRecord[] = [];
    const inFlight = new Set<Promise<void>>();
    let immediates = 0;
    const creator = setInterval(() => {
      const sent = api.create(immediateJob(immediates++, sink.url('/faults/immediate'))).then(({ record, body }) => {
        requests.push(record);
        if (record.outcome.kind === 'answered' && record.outcome.status === 201) jobs.set(body.id, { id: body.id, kind: 'immediate', acknowledged: true, executions: undefined });
      });
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
    }, scenario.load.immediateEveryMs);

    const deliveries = () => sink.requests.map(toDelivery).filter((d): d is Delivery => d !== undefined);
    /** Every recurring job has reached the target with an instant due after `since`: firing has recovered. */
    const firedAgainAfter = async (since: number, what: string) => {
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        const fired = new Set(deliveries().filter((d) => Date.parse(d.scheduledAt) > since).map((d) => d.jobId));
        if (recurring.every((id) => fired.has(id))) return;
        if (Date.now() > deadline) throw new Error(`${what}: ${recurring.filter((id) => !fired.has(id)).length} of ${recurring.length} recurring jobs did not fire again`);
        await sleep(200);
      }
    };

    const faults: FaultRecord[] = [];
    try {
      await firedAgainAfter(loadStart, 'before the first fault');
      for (const step of scenario.faults) {
        if (step.atMs !== undefined) await sleep(loadStart + step.atMs - Date.now());
        else if (faults.length > 0) await firedAgainAfter(faults[faults.length - 1]!.backAt, `after ${faults[faults.length - 1]!.target}`);
        const fault = await processes.inject(step);
        faults.push(fault);
        log(`killed ${fault.target} at +${fault.killedAt - loadStart} ms, back after ${fault.backAt - fault.killedAt} ms`);
      }
      await firedAgainAfter(faults.length ? faults[faults.length - 1]!.backAt : loadStart, 'after the last fault');
    } finally {
      clearInterval(creator);
    }
    await Promise.all(inFlight);
    const windowMs = Date.now() - loadStart;

    // The end of the load: recurring jobs paused; where each stands bounds the instants it must account for.
    const pausedAt = Date.now();
    await inParallel(recurring.length, 16, async (i) => {
      const paused = await api.retrying('POST', `/api/v1/jobs/${recurring[i]}/pause`, {});
      jobs.get(recurring[i]!)!.untilInstant = paused.body.nextRunAt;
    });

    // Drained: no one-off job left active, the API counts as many successes as the target saw distinct runs,
    // nothing new reaches the target, and no recurring job has a run still open.
    let agreementAfterMs: number | undefined;
    const settleDeadline = Date.now() + scenario.settleCapMs;
    let lastCount = -1;
    let quietSince = Date.now();
    while (Date.now() < settleDeadline) {
      const seen = new Set(deliveries().map((d) => d.executionId)).size;
      if (seen !== lastCount) [lastCount, quietSince] = [seen, Date.now()];
      if (Date.now() - quietSince >= QUIET_MS && (await api.settled(seen, recurring))) {
        agreementAfterMs = quietSince - pausedAt;
        break;
      }
      await sleep(500);
    }
    log(agreementAfterMs === undefined ? `no agreement within ${scenario.settleCapMs} ms` : `history agrees with the target ${agreementAfterMs} ms after the load ended`);

    // What the API says of every job: those of the load, and any the target saw that a request answered otherwise created.
    const observed = deliveries();
    for (const delivery of observed) {
      if (!jobs.has(delivery.jobId)) jobs.set(delivery.jobId, { id: delivery.jobId, kind: 'immediate', acknowledged: false, executions: undefined });
    }
    const all = [...jobs.values()];
    await inParallel(all.length, 8, async (i) => {
      all[i]!.executions = await api.executions(all[i]!.id);
    });
    return {
      checked: checkFaultRun({ jobs: all, deliveries: observed, faults: [...faults, ...processes.crashes], requests }),
      recoveries: recoveries({ faults, jobs: all, deliveries: observed }),
      agreementAfterMs,
      windowMs,
      jobs: { recurring: recurring.length, at: scenario.load.atJobs, immediate: all.filter((j) => j.kind === 'immediate').length },
    };
  } finally {
    await processes.stopAll();
    await sink.stop();
  }
}

/** The Chronos processes of a topology, started again (as a supervisor would) after each kill. */
class ChronosProcesses {
  private readonly running = new Map<string, ChronosProcess>();
  /** Processes ended on purpose (a fault, the end of the run): their exit is no crash. */
  private readonly ended = new WeakSet<ChronosProcess>();
  /** Processes that exited by themselves; each was started again, as a supervisor does. */
  readonly crashes: FaultRecord[] = [];
  private stopping = false;
  private starts = 0;
  private instances = 0;

  constructor(
    private readonly scenario: FaultScenario,
    private readonly apiPort: number,
    private readonly log: (message: string) => void,
  ) {
    if (scenario.logDir) mkdirSync(scenario.logDir, { recursive: true });
  }

  private names(): string[] {
    return this.scenario.topology === 'combined' ? ['chronos'] : ['projector', 'scheduler', 'worker', 'api'];
  }

  async startAll(): Promise<void> {
    for (const name of this.names()) await this.start(name);
  }

  /** Starts the process `name` and waits for it to have started; a start that fails is tried again a second later. */
  private async start(name: string): Promise<void> {
    const roles = ROLES_OF[name]!;
    const env = {
      CHRONOS_ROLES: roles,
      // One id per start, so that the history says which start of a process ran what.
      CHRONOS_INSTANCE_ID: `${name}-${++this.instances}`,
      PORT: roles.includes('api') ? String(this.apiPort) : '0',
      // The load runs longer than a default access token lives.
      JWT_ACCESS_TTL: '2h',
      ...this.scenario.env,
    };
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const child = new ChronosProcess(name, env);
      try {
        await child.waitForMessage('chronos started', START_TIMEOUT_MS);
        this.running.set(name, child);
        void child.exited.then(() => this.onExit(name, child));
        return;
      } catch (error) {
        this.keepLog(name, child);
        child.kill('SIGKILL');
        if (Date.now() > deadline) throw error;
        this.log(`${name} did not start (${(error as Error).message.split('\n')[0]}), trying again`);
        await sleep(1000);
      }
    }
  }

  /** A process that exited unasked is a crash: recorded (with why, from its last lines), and started again. */
  private async onExit(name: string, child: ChronosProcess): Promise<void> {
    if (this.ended.has(child) || this.stopping) return;
    const killedAt = Date.now();
    this.running.delete(name);
    this.keepLog(name, child);
    const why = [...child.stderr].reverse().find((line) => /Error/.test(line)) ?? `exit ${JSON.stringify(await child.exited)}`;
    this.log(`${name} exited by itself (${why.trim()}); starting it again`);
    await sleep(1000);
    await this.start(name);
    this.crashes.push({ target: `${name} (crashed: ${why.trim().slice(0, 200)})`, roles: ROLES_OF[name]!.split(','), killedAt, backAt: Date.now(), crashed: true });
  }

  async inject(step: FaultStep): Promise<FaultRecord> {
    const roles = SERVICES.has(step.target) ? [] : ROLES_OF[step.target]!.split(',');
    const killedAt = Date.now();
    if (SERVICES.has(step.target)) {
      await this.scenario.services.kill(step.target as Service);
    } else {
      if (!this.names().includes(step.target)) throw new Error(`no process ${step.target} in a ${this.scenario.topology} topology`);
      // One that crashed is being started again: the fault waits for it.
      while (!this.running.get(step.target)?.alive) await sleep(200);
      const child = this.running.get(step.target)!;
      this.ended.add(child);
      child.kill('SIGKILL');
      await child.exited;
      this.keepLog(step.target, child);
    }
    await sleep(step.downMs);
    if (SERVICES.has(step.target)) await this.scenario.services.start(step.target as Service);
    else await this.start(step.target);
    return { target: step.target, roles, killedAt, backAt: Date.now() };
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.running].map(async ([name, child]) => {
        await child.stop(10_000);
        this.keepLog(name, child);
      }),
    );
    this.running.clear();
  }

  private keepLog(name: string, child: ChronosProcess): void {
    if (!this.scenario.logDir) return;
    const text = [...child.lines.map((line) => line.text), ...child.stderr].join('\n');
    writeFileSync(join(this.scenario.logDir, `${String(++this.starts).padStart(2, '0')}-${name}.log`), `${text}\n`);
  }
}

/** The API as the load's client sees it: every request with a timeout, every ending classified. */
class LoadClient {
  private token = '';

  constructor(
    private readonly base: string,
    private readonly timeoutMs: number,
  ) {}

  async signUp(): Promise<void> {
    const { body } = await this.retrying('POST', '/api/v1/auth/register', { email: `faults-${Date.now()}@example.com`, password: 'Passw0rd!', name: 'Faults' }, 201);
    this.token = body.accessToken;
  }

  async request(method: string, path: string, body?: unknown): Promise<{ record: RequestRecord; body: Json }> {
    const sentAt = Date.now();
    let outcome: RequestOutcome;
    let parsed: Json;
    try {
      const response = await fetch(`${this.base}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await response.text();
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      outcome = { kind: 'answered', status: response.status, retryAfter: response.headers.get('retry-after') };
    } catch (error) {
      const code = ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name) || 'error';
      outcome = code === 'TimeoutError' ? { kind: 'hang' } : { kind: 'unreachable', code };
    }
    return { record: { sentAt, endedAt: Date.now(), outcome }, body: parsed };
  }

  create(body: unknown): Promise<{ record: RequestRecord; body: Json }> {
    return this.request('POST', '/api/v1/jobs', body);
  }

  /** A create that must succeed (the jobs that exist before the faults). */
  async mustCreate(body: unknown): Promise<Json> {
    return (await this.retrying('POST', '/api/v1/jobs', body, 201)).body;
  }

  /** A request repeated (a second apart, for at most START_TIMEOUT_MS) until it answers `status`: the end of the run, when everything is back. */
  async retrying(method: string, path: string, body?: unknown, status = 200): Promise<{ body: Json }> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const answer = await this.request(method, path, body);
      if (answer.record.outcome.kind === 'answered' && answer.record.outcome.status === status) return answer;
      if (Date.now() > deadline) throw new Error(`${method} ${path}: ${JSON.stringify(answer.record.outcome)} ${JSON.stringify(answer.body)}`);
      await sleep(1000);
    }
  }

  /** Whether the API shows the run over: no one-off job active, `succeeded` successes, no run of `recurring` open. */
  async settled(succeeded: number, recurring: string[]): Promise<boolean> {
    const stats = await this.request('GET', '/api/v1/dashboard/stats');
    if (!(stats.record.outcome.kind === 'answered' && stats.record.outcome.status === 200)) return false;
    if ((stats.body.jobs.byStatus.active ?? 0) > 0 || stats.body.executions.last24h.succeeded !== succeeded) return false;
    for (const id of recurring) {
      for (const status of ['queued', 'running']) {
        const open = await this.request('GET', `/api/v1/jobs/${id}/executions?status=${status}&limit=1`);
        if (!(open.record.outcome.kind === 'answered' && open.record.outcome.status === 200) || open.body.total > 0) return false;
      }
    }
    return true;
  }

  /** Every execution of a job (undefined when the API does not know the job). */
  async executions(jobId: string): Promise<RecordedExecution[] | undefined> {
    const all: RecordedExecution[] = [];
    for (let page = 1; ; page++) {
      const answer = await this.request('GET', `/api/v1/jobs/${jobId}/executions?limit=100&page=${page}`);
      if (answer.record.outcome.kind === 'answered' && answer.record.outcome.status === 404) return undefined;
      const { body } = answer.record.outcome.kind === 'answered' && answer.record.outcome.status === 200 ? answer : await this.retrying('GET', `/api/v1/jobs/${jobId}/executions?limit=100&page=${page}`);
      all.push(...body.items);
      if (page >= body.totalPages) return all;
    }
  }
}

function recurringJob(i: number, url: string) {
  return {
    name: `recurring ${i}`,
    type: 'http',
    payload: { url },
    schedule: { kind: 'cron', expression: '*/2 * * * * *', timezone: 'UTC' },
    misfirePolicy: 'fire_once',
    concurrencyPolicy: 'allow',
    retryPolicy: { maxAttempts: 3, backoff: 'fixed', delayMs: 1000 },
    timeoutMs: 10_000,
  };
}

const atJob = (i: number, runAt: string, url: string) => ({ name: `at ${i}`, type: 'http', payload: { url }, schedule: { kind: 'at', runAt } });
const immediateJob = (i: number, url: string) => ({ name: `immediate ${i}`, type: 'http', payload: { url }, schedule: { kind: 'immediate' } });

/** What a request the target received says of the run it came from (Chronos's headers). */
function toDelivery(request: { headers: Record<string, string | string[] | undefined>; receivedAt: number }): Delivery | undefined {
  const key = request.headers['idempotency-key'];
  const executionId = request.headers['x-chronos-execution-id'];
  if (typeof key !== 'string' || typeof executionId !== 'string') return undefined;
  const split = key.indexOf(':');
  return { jobId: key.slice(0, split), scheduledAt: key.slice(split + 1), executionId, attempt: Number(request.headers['x-chronos-attempt']), at: request.receivedAt };
}

/** Runs `work(0..count-1)` with at most `concurrency` at once. */
async function inParallel(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** A TCP port nobody listens on now (the API keeps it across restarts, so the load's client finds it again). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
