/**
 * Chronos as users run it, for the HTTP benchmarks: separate Node processes (bench/chronos-server.ts) on
 * the benchmark's servers, in production mode, logging at `info` into files under .chronos/bench/logs,
 * with real authentication and the rate limiter in the path (its quota set out of reach, so that it
 * counts every request and refuses none).
 *
 * Layouts (BENCH_LAYOUT): `one` (default), every role in one process, as `npm run up` runs it; `api=N`, N
 * processes of the `api` role beside one process of the other roles (the client spreads its requests
 * over the N ports, as a load balancer would).
 *
 * `build`: the benchmark build to run Chronos from (default: this one); BENCH_BASELINE (scripts/bench.sh) makes
 * one of an earlier commit, so that a change is measured against the code before it in the same run.
 *
 * BENCH_PROFILE=<dir>: `profiled(label, work)` records a CPU profile of every process while `work` runs,
 * <dir>/<label>-<process>.cpuprofile, and its summary beside it (.txt, bench/profile-summary.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarizeProfile } from './profile-summary.js';

const here = dirname(fileURLToPath(import.meta.url));
const LOG_DIR = resolve(process.env.BENCH_LOG_DIR ?? '.chronos/bench/logs');
const START_TIMEOUT_MS = 60_000;

export interface ChronosProcesses {
  /** `http://127.0.0.1:<port>` of each process serving the API. */
  apiBases: string[];
  /** What ran: `one` or `api=N`. */
  layout: string;
  pids: number[];
  /** Runs `work`; with BENCH_PROFILE set, each process's CPU profile of that time is written (see above). */
  profiled<T>(label: string, work: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** The secrets every process of one run shares (tokens signed by one are accepted by the others). */
const runSecrets = { JWT_SECRET: randomBytes(48).toString('base64url'), CHRONOS_SECRETS_KEY: randomBytes(48).toString('base64url') };

export function benchLayout(): string {
  const layout = process.env.BENCH_LAYOUT ?? 'one';
  if (layout !== 'one' && !/^api=[1-8]$/.test(layout)) throw new Error(`BENCH_LAYOUT must be one or api=N (1-8), got "${layout}"`);
  return layout;
}

/** Every role but `api`: the one process of `one`, beside the API processes of `api=N`. */
export const ALL_ROLES = ['scheduler', 'worker', 'projector'];

/** Starts the processes of `layout` with `roles` besides `api`; `env` adds settings to every process. */
export async function startChronosProcesses(
  label: string,
  layout: string,
  env: Record<string, string> = {},
  roles: string[] = ALL_ROLES,
  build?: string,
): Promise<ChronosProcesses> {
  const server = build ? resolve(build, 'bench', 'chronos-server.js') : join(here, 'chronos-server.js');
  mkdirSync(LOG_DIR, { recursive: true });
  const plan: { name: string; roles: string }[] =
    layout === 'one'
      ? [{ name: 'all', roles: ['api', ...roles].join(',') }]
      : [{ name: 'core', roles: roles.join(',') }, ...Array.from({ length: Number(layout.slice(4)) }, (_, i) => ({ name: `api${i + 1}`, roles: 'api' }))];
  const started: { child: ChildProcess; port: number; roles: string; name: string }[] = [];
  try {
    for (const { name, roles } of plan) started.push({ ...(await startOne(server, `${label}-${name}`, roles, env)), roles, name });
  } catch (error) {
    await Promise.all(started.map(({ child }) => stopOne(child)));
    throw error;
  }
  return {
    apiBases: started.filter((p) => p.roles.includes('api')).map((p) => `http://127.0.0.1:${p.port}`),
    layout,
    pids: started.map((p) => p.child.pid!),
    profiled: async (scenario, work) => {
      const dir = process.env.BENCH_PROFILE;
      if (!dir) return work();
      mkdirSync(dir, { recursive: true });
      await Promise.all(started.map(({ child }) => ask(child, { profile: 'start' })));
      try {
        return await work();
      } finally {
        for (const { child, name } of started) {
          const file = resolve(dir, `${scenario}-${name}.cpuprofile`);
          await ask(child, { profile: 'stop', file });
          writeFileSync(file.replace(/\.cpuprofile$/, '.txt'), summarizeProfile(file));
        }
      }
    },
    stop: () => Promise.all(started.map(({ child }) => stopOne(child))).then(() => undefined),
  };
}

/** One Chronos process of `roles` (bench/scale.ts starts its schedulers so, to kill one and weigh another). */
export async function startChronosProcess(name: string, roles: string, env: Record<string, string> = {}): Promise<{ pid: number; base: string; stop: () => Promise<void>; kill: () => void }> {
  mkdirSync(LOG_DIR, { recursive: true });
  const { child, port } = await startOne(join(here, 'chronos-server.js'), name, roles, env);
  return { pid: child.pid!, base: `http://127.0.0.1:${port}`, stop: () => stopOne(child), kill: () => child.kill('SIGKILL') };
}

async function startOne(server: string, name: string, roles: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const log = openSync(join(LOG_DIR, `${name}.log`), 'w');
  const child = fork(server, [], {
    execArgv: ['--max-semi-space-size=64'],
    stdio: ['ignore', log, log, 'ipc'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      CHRONOS_ROLES: roles,
      RATE_LIMIT_PER_HOUR: '1000000000',
      // Sign-ups and sign-ins are not what is measured.
      AUTH_RATE_LIMIT_PER_IP: '0',
      AUTH_RATE_LIMIT_PER_EMAIL: '0',
      JWT_ACCESS_TTL: '2h',
      ...runSecrets,
      ...env,
    },
  });
  await new Promise<void>((ready, failed) => {
    const timer = setTimeout(() => failed(new Error(`Chronos ${name} did not start within ${START_TIMEOUT_MS} ms (see ${LOG_DIR}/${name}.log)`)), START_TIMEOUT_MS);
    child.once('message', () => {
      clearTimeout(timer);
      ready();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      failed(new Error(`Chronos ${name} exited with ${code} while starting (see ${LOG_DIR}/${name}.log)`));
    });
  });
  return { child, port };
}

/** Sends a control message and waits for the process's answer. */
function ask(child: ChildProcess, message: object): Promise<void> {
  return new Promise((done) => {
    child.once('message', () => done());
    child.send(message);
  });
}

function stopOne(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.send('stop');
  });
}

function freePort(): Promise<number> {
  return new Promise((done, failed) => {
    const server = createServer();
    server.once('error', failed);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
