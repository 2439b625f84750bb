import { resolve } from 'node:path';
import { runFaultScenario, type FaultRunResult, type FaultScenario } from './support/fault-run.js';
import { testServices } from './support/services.js';

/**
 * kill -9 of every process Chronos depends on, under load, with real processes (issue 15): the short form of
 * `npm run bench -- faults`. Each fault comes once every recurring job has fired again after the previous one
 * (progress, not time), and the checks are what holds on any machine: nothing acknowledged lost, no instant
 * fired twice or unaccounted for, a run delivered again only if it was in flight at a fault, the history equal
 * to what the target saw, every request answered (2xx, or 503 with Retry-After), firing resumed after every
 * fault. How fast it recovered is printed, not asserted.
 */
const load = { recurringJobs: 10, atJobs: 20, atSpreadMs: 30_000, immediateEveryMs: 500 };
const common: Omit<FaultScenario, 'topology' | 'faults'> = {
  load,
  services: testServices,
  requestTimeoutMs: 30_000,
  settleCapMs: 120_000,
  logDir: resolve(process.cwd(), '.chronos/test/faults'),
};

function report(name: string, result: FaultRunResult): void {
  console.log(
    `${name}: ${JSON.stringify({ figures: result.checked.figures, recoveries: result.recoveries, agreementAfterMs: result.agreementAfterMs, windowMs: result.windowMs, jobs: result.jobs }, null, 1)}`,
  );
}

function expectKept(result: FaultRunResult): void {
  expect(result.checked.violations).toEqual([]);
  expect(result.checked.figures.acknowledgedOneOffs).toBeGreaterThan(load.atJobs);
  // Fires came again after every fault.
  for (const recovery of result.recoveries) expect(recovery).toMatchObject({ firstFireAfterMs: expect.any(Number) });
}

describe('kill -9 under load', () => {
  afterAll(async () => {
    // Whatever a failed run left killed is started again for the next test file.
    for (const service of ['nats', 'postgres', 'redis'] as const) await testServices.start(service).catch(() => undefined);
  });

  it('of Chronos (all roles), nats-server, PostgreSQL and Redis: nothing lost, repeated or hidden', async () => {
    const result = await runFaultScenario({
      ...common,
      logDir: `${common.logDir}/combined`,
      topology: 'combined',
      faults: [
        { target: 'chronos', downMs: 0 },
        { target: 'nats', downMs: 2000 },
        { target: 'postgres', downMs: 2000 },
        { target: 'redis', downMs: 2000 },
        { target: 'chronos', downMs: 0 },
      ],
      log: (message) => console.log(`combined: ${message}`),
    });
    report('combined', result);
    expectKept(result);
  }, 900_000);

  it('of each role in its own process, and of each service: nothing lost, repeated or hidden', async () => {
    const result = await runFaultScenario({
      ...common,
      logDir: `${common.logDir}/split`,
      topology: 'split',
      faults: [
        { target: 'worker', downMs: 0 },
        { target: 'nats', downMs: 2000 },
        { target: 'scheduler', downMs: 0 },
        { target: 'postgres', downMs: 2000 },
        { target: 'projector', downMs: 0 },
        { target: 'redis', downMs: 2000 },
        { target: 'api', downMs: 0 },
      ],
      log: (message) => console.log(`split: ${message}`),
    });
    report('split', result);
    expectKept(result);
  }, 900_000);
});
