import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { urls } from './stack.js';

const run = promisify(execFile);

/** The services of a stack that a test (or the fault benchmark) kills with SIGKILL and starts again. */
export type Service = 'nats' | 'postgres' | 'redis';

const STACK_SH = resolve(process.cwd(), 'scripts/stack.sh');

/**
 * The servers of a stack started by scripts/stack.sh (`stack_fresh`): `npm test`'s under .chronos/test, the
 * benchmark's under .chronos/bench. Each is killed by the pid its pidfile holds, and started again by the
 * same stack function, on the same port and data, with the same command line as at first.
 */
export class StackServices {
  constructor(
    readonly dir: string,
    /** `fast` for the test stack (fsync off); the benchmark's runs with PostgreSQL's durable defaults. */
    readonly postgresMode: 'fast' | 'durable',
    readonly ports: Record<Service, number>,
  ) {}

  /** kill -9 of the server (for PostgreSQL its postmaster: its backends follow it), once it is gone. */
  async kill(service: Service): Promise<void> {
    const pid = await this.pid(service);
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((done) => setTimeout(done, 20));
  }

  /** Starts the server again on its port with its data; resolves once it accepts connections. */
  async start(service: Service): Promise<void> {
    const dir = `'${this.dir}'`;
    const port = this.ports[service];
    if (service === 'nats') await this.stack(`stack_start_nats ${dir} ${port}`);
    else if (service === 'redis') await this.stack(`stack_start_redis ${dir} ${port}`);
    else await this.stack(`stack_start_postgres ${dir} ${port} ${this.postgresMode === 'fast' ? 'fast' : ''}`);
  }

  /** The server's process id, from its pidfile. */
  async pid(service: Service): Promise<number> {
    const file = service === 'nats' ? `${this.dir}/nats.pid` : service === 'redis' ? `${this.dir}/redis.pid` : `${await this.postgresDataDir()}/postmaster.pid`;
    return Number(readFileSync(file, 'utf8').split('\n')[0]);
  }

  private async postgresDataDir(): Promise<string> {
    const { stdout } = await this.stack(`stack_pg_base '${this.dir}'`);
    return `${stdout.trim()}/data`;
  }

  private stack(command: string): Promise<{ stdout: string; stderr: string }> {
    return run('bash', ['-c', `set -euo pipefail; source '${STACK_SH}'; ${command}`], { env: process.env });
  }
}

/** Alive and not a zombie (a killed server lingers as one until its parent reaps it). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const port = (url: string) => Number(new URL(url).port);

/** The stack scripts/test.sh started for this run. */
export const testServices = new StackServices(process.env.CHRONOS_TEST_STACK_DIR ?? resolve(process.cwd(), '.chronos/test'), 'fast', {
  nats: port(urls.nats),
  postgres: port(urls.database),
  redis: port(urls.redis),
});

/** kill -9 of the PostgreSQL postmaster of the test stack (its backends follow it). */
export const killPostgres = (): Promise<void> => testServices.kill('postgres');

/** Starts the test stack's PostgreSQL again on its port, with its data (after killPostgres). */
export const startPostgres = (): Promise<void> => testServices.start('postgres');
