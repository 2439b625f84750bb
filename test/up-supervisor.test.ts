import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { alive } from './support/services.js';
import { waitFor } from './support/stack.js';

const run = promisify(execFile);
const STACK_SH = resolve(process.cwd(), 'scripts/stack.sh');

/** Ports nobody listens on now, for this test's own stack. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((done) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => done(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

const pidIn = (file: string) => Number(readFileSync(file, 'utf8').split('\n')[0]);

/**
 * `npm run up` supervises Chronos (scripts/up.sh): the real script, on a data folder and ports of this test's
 * own, with the dist/ that scripts/test.sh built. kill -9 of Chronos, then of nats-server: each comes back,
 * the supervisor says why, and SIGTERM (what `npm run down` sends) stops it all.
 */
describe('npm run up as a supervisor', () => {
  let dir: string;
  let up: ChildProcess;
  const stderr: string[] = [];
  const started: number[] = [];
  let exited: Promise<number | null>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chronos-up-supervisor-'));
    const [port, nats, pg, redis] = await freePorts(4);
    // Not the test stack's servers: up.sh starts its own when no *_URL is set.
    const { NATS_URL: _n, DATABASE_URL: _d, REDIS_URL: _r, ...env } = process.env;
    up = spawn('bash', ['scripts/up.sh'], {
      env: { ...env, CHRONOS_DATA_DIR: dir, PORT: String(port), CHRONOS_NATS_PORT: String(nats), CHRONOS_PG_PORT: String(pg), CHRONOS_REDIS_PORT: String(redis), CHRONOS_UP_NO_BUILD: '1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((done) => up.once('exit', (code) => done(code)));
    createInterface({ input: up.stderr! }).on('line', (line) => stderr.push(line));
    createInterface({ input: up.stdout! }).on('line', (line) => {
      try {
        const json = JSON.parse(line);
        if (json.msg === 'chronos started') started.push(json.pid);
      } catch {
        // not a log line of Chronos
      }
    });
  }, 60_000);

  afterAll(async () => {
    if (up.exitCode === null && up.signalCode === null) {
      up.kill('SIGTERM');
      await exited;
    }
    // Whatever a failed run left behind, and the data folder (PostgreSQL's may be in /tmp/chronos-pg-*).
    await run('bash', ['-c', `source '${STACK_SH}'; stack_wipe "$1"`, 'bash', dir]);
  }, 120_000);

  const logged = (pattern: RegExp) => stderr.some((line) => pattern.test(line));

  it('starts Chronos again after kill -9, and nats-server too, then stops everything on SIGTERM', async () => {
    await waitFor(() => started.length === 1, 240_000, `Chronos to start under up.sh\n${stderr.join('\n')}`);
    const first = pidIn(`${dir}/chronos.pid`);
    expect(first).toBe(started[0]);

    process.kill(first, 'SIGKILL');
    await waitFor(() => started.length === 2, 120_000, `Chronos to start again\n${stderr.join('\n')}`);
    expect(logged(new RegExp(`Chronos \\(pid ${first}\\) was killed by SIGKILL after \\d+s; starting it again in 1s`))).toBe(true);
    const second = pidIn(`${dir}/chronos.pid`);
    expect(second).toBe(started[1]);
    expect(second).not.toBe(first);

    const nats = pidIn(`${dir}/nats.pid`);
    process.kill(nats, 'SIGKILL');
    await waitFor(() => logged(/nats is not running: starting it again/) && alive(pidIn(`${dir}/nats.pid`)) && pidIn(`${dir}/nats.pid`) !== nats, 120_000, `nats-server to be started again\n${stderr.join('\n')}`);
    // Chronos rode it out: its clients reconnected, it was not restarted.
    expect(alive(second)).toBe(true);
    expect(started).toHaveLength(2);

    const services = [pidIn(`${dir}/nats.pid`), pidIn(`${dir}/redis.pid`)];
    up.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(alive(second)).toBe(false);
    for (const pid of services) expect(alive(pid)).toBe(false);
    expect(logged(/stopped PostgreSQL/)).toBe(true);
  }, 600_000);
});
