/**
 * CPU per job, stage by stage: `node --max-semi-space-size=64 .chronos/bench-build/bench/stages.js <roles> [jobs]` after
 * `npx tsc -p tsconfig.bench.json`, against the services of NATS_URL / DATABASE_URL / REDIS_URL (wiped).
 * Run it with roles `api`, then `api,projector`, then `api,projector,worker`: the differences are what
 * each stage costs (docs/benchmarks.md).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { startChronos } from '../src/app.js';
import { JobCommands } from '../src/commands/job-commands.js';
import { loadConfig } from '../src/config.js';
import { defaultRetryPolicy, withDefaults } from '../src/domain/job/job-spec.js';
import { BENCH_OWNER_ID, resetChronosState } from './chronos.js';

const roles = process.argv[2] ?? 'api,projector,worker';
const jobs = Number(process.argv[3] ?? 10_000);
const config = loadConfig({ ...process.env, PORT: '0', CHRONOS_ROLES: roles });
await resetChronosState(config);
const chronos = await startChronos({ ...config, logLevel: 'error' });
const commands = chronos.app.get(JobCommands);
const spec = withDefaults(
  { name: 'stage', type: 'custom', payload: { handler: 'noop' }, schedule: { kind: 'immediate' } },
  { retryPolicy: defaultRetryPolicy(), timeoutMs: 30_000 },
);

const cpuBefore = process.cpuUsage();
const startedAt = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 256 }, async () => {
    while (next < jobs) {
      next++;
      const jobId = randomUUID();
      await commands.send(
        jobId,
        { type: 'CreateJob', now: new Date(), data: { jobId, ownerId: BENCH_OWNER_ID, spec, executionId: randomUUID() } },
        { commandId: randomUUID(), actor: 'bench', correlationId: 'bench' },
      );
    }
  }),
);
const submitMs = performance.now() - startedAt;
// Done when the last stage present has finished every job.
const done = async () => {
  if (!config.roles.has('projector')) return true;
  const sql = config.roles.has('worker') ? `SELECT count(*)::int AS n FROM executions WHERE status = 'succeeded'` : `SELECT count(*)::int AS n FROM jobs`;
  const [row] = await chronos.infra.dataSource.query(sql);
  return row.n >= jobs;
};
while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 50));
const totalMs = performance.now() - startedAt;
const cpu = process.cpuUsage(cpuBefore);
console.log(
  JSON.stringify({
    roles,
    jobs,
    submitMs: Math.round(submitMs),
    totalMs: Math.round(totalMs),
    cpuMsPerJob: Number(((cpu.user + cpu.system) / 1000 / jobs).toFixed(3)),
    jobsPerSecond: Math.round((jobs / totalMs) * 1000),
  }),
);
await chronos.close();
process.exit(0);
