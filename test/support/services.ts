import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { urls } from './stack.js';

const run = promisify(execFile);

/** The stack started by scripts/test.sh: where its services keep their data, and its script library. */
const STACK_DIR = process.env.CHRONOS_TEST_STACK_DIR ?? resolve(process.cwd(), '.chronos/test');
const STACK_SH = resolve(process.cwd(), 'scripts/stack.sh');

function stack(command: string): Promise<{ stdout: string; stderr: string }> {
  return run('bash', ['-c', `set -euo pipefail; source '${STACK_SH}'; ${command}`], { env: process.env });
}

async function postgresDataDir(): Promise<string> {
  const { stdout } = await stack(`stack_pg_base '${STACK_DIR}'`);
  return `${stdout.trim()}/data`;
}

/** kill -9 of the PostgreSQL postmaster of the test stack (its backends follow it). */
export async function killPostgres(): Promise<void> {
  const pid = Number(readFileSync(`${await postgresDataDir()}/postmaster.pid`, 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGKILL');
}

/** Starts the test stack's PostgreSQL again on its port, with its data (after killPostgres). */
export async function startPostgres(): Promise<void> {
  const port = new URL(urls.database).port;
  await stack(`stack_start_postgres '${STACK_DIR}' ${port} fast`);
}
