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

/** One `bash scripts/up.sh`: what it logged (stderr) and the pid of each Chronos it started ("chronos started"). */
class Up {
  readonly stderr: string[] = [];
  readonly started: number[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn('bash', ['scripts/up.sh'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((done) => this.child.once('exit', (code) => done(code)));
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.stderr.push(line));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        const json = JSON.parse(line);
        if (json.msg === 'chronos started') this.started.push(json.pid);
      } catch {
        // not a log line of Chronos
      }
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logged = (pattern: RegExp) => this.stderr.some((line) => pattern.test(line));

  /** Waits for the nth Chronos it started (1-based). */
  async chronos(n: number): Promise<number> {
    // What up.sh said goes into the failure: read when the wait ends, not when it starts.
    await waitFor(() => this.started.length >= n, 240_000, `Chronos number ${n} to start under up.sh`).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.stderr.join('\n')}`);
    });
    return this.started[n - 1]!;
  }
}

/**
 * `npm run up` supervises Chronos (scripts/up.sh): the real script, on a data folder and ports of this test's
 * own, with the dist/ that scripts/test.sh built. kill -9 of Chronos, then of nats-server: each comes back,
 * the supervisor says why, and SIGTERM (what `npm run down` sends) stops it all. A Chronos left running by a
 * supervisor killed with -9 is taken over by the next `npm run up`.
 */
describe('npm run up as a supervisor', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const ups: Up[] = [];
  const up = () => {
    const started = new Up(env);
    ups.push(started);
    return started;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chronos-up-supervisor-'));
    const [port, nats, pg, redis] = await freePorts(4);
    // Not the test stack's servers: up.sh starts its own when no *_URL is set.
    const { NATS_URL: _n, DATABASE_URL: _d, REDIS_URL: _r, ...inherited } = process.env;
    env = { ...inherited, CHRONOS_DATA_DIR: dir, PORT: String(port), CHRONOS_NATS_PORT: String(nats), CHRONOS_PG_PORT: String(pg), CHRONOS_REDIS_PORT: String(redis), CHRONOS_UP_NO_BUILD: '1', LOG_LEVEL: 'info' };
  });

  afterAll(async () => {
    for (const each of ups.filter((u) => u.running)) {
      process.kill(each.pid, 'SIGTERM');
      await each.exited;
    }
    // Whatever a failed run left behind, and the data folder (PostgreSQL's may be in /tmp/chronos-pg-*).
    await run('bash', ['-c', `source '${STACK_SH}'; stack_wipe "$1"`, 'bash', dir]);
  }, 120_000);

  it('starts Chronos again after kill -9, and nats-server too, then stops everything on SIGTERM', async () => {
    const supervisor = up();
    const first = await supervisor.chronos(1);
    expect(pidIn(`${dir}/chronos.pid`)).toBe(first);

    process.kill(first, 'SIGKILL');
    const second = await supervisor.chronos(2);
    expect(supervisor.logged(new RegExp(`Chronos \\(pid ${first}\\) was killed by SIGKILL after \\d+s; starting it again in 1s`))).toBe(true);
    expect(pidIn(`${dir}/chronos.pid`)).toBe(second);
    expect(second).not.toBe(first);

    const nats = pidIn(`${dir}/nats.pid`);
    process.kill(nats, 'SIGKILL');
    await waitFor(() => supervisor.logged(/nats is not running: starting it again/) && alive(pidIn(`${dir}/nats.pid`)) && pidIn(`${dir}/nats.pid`) !== nats, 120_000, `nats-server to be started again\n${supervisor.stderr.join('\n')}`);
    // Chronos rode it out: its clients reconnected, it was not restarted.
    expect(alive(second)).toBe(true);
    expect(supervisor.started).toHaveLength(2);

    const services = [pidIn(`${dir}/nats.pid`), pidIn(`${dir}/redis.pid`)];
    process.kill(supervisor.pid, 'SIGTERM');
    expect(await supervisor.exited).toBe(0);
    expect(alive(second)).toBe(false);
    for (const pid of services) expect(alive(pid)).toBe(false);
    expect(supervisor.logged(/stopped PostgreSQL/)).toBe(true);
  }, 600_000);

  it('takes over a Chronos whose supervisor was killed with -9', async () => {
    const killed = up();
    const orphan = await killed.chronos(1);
    process.kill(killed.pid, 'SIGKILL');
    await killed.exited;
    expect(alive(orphan)).toBe(true);

    const next = up();
    const adopted = await next.chronos(1);
    expect(next.logged(new RegExp(`Chronos \\(pid ${orphan}\\) runs without its supervisor`))).toBe(true);
    expect(alive(orphan)).toBe(false);
    expect(pidIn(`${dir}/chronos.pid`)).toBe(adopted);
    process.kill(next.pid, 'SIGTERM');
    expect(await next.exited).toBe(0);
    expect(alive(adopted)).toBe(false);
  }, 600_000);

  // Through a pipe, as in the other tests here, Chronos logs JSON lines (Up reads "chronos started" from
  // them); on a terminal it logs readable lines instead.
  it('prints readable log lines on a terminal', async () => {
    // util-linux `script` runs up.sh on a pseudo-terminal of its own and copies what it shows.
    const terminal = spawn('script', ['-qfec', 'bash scripts/up.sh', '/dev/null'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((done) => terminal.once('exit', done));
    const shown: string[] = [];
    createInterface({ input: terminal.stdout! }).on('line', (line) => shown.push(line.replace(/\x1b\[[\d;]*m|\r/g, '')));
    try {
      await waitFor(() => shown.some((line) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[Chronos\] chronos started \{.*"port":\d+/.test(line)), 240_000, 'a readable "chronos started"').catch((error: Error) => {
        throw new Error(`${error.message}\n${shown.join('\n')}`);
      });
      expect(shown.filter((line) => line.startsWith('{'))).toEqual([]);
    } finally {
      if (terminal.exitCode === null) {
        const chronos = pidIn(`${dir}/chronos.pid`);
        process.kill(pidIn(`${dir}/up.pid`), 'SIGTERM');
        await exited;
        expect(alive(chronos)).toBe(false);
      }
    }
  }, 600_000);
});
