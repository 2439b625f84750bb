/**
 * CPU time spent by each process of a scenario while it ran, from /proc/<pid>/stat (user + system), so
 * that a figure can be split into what Chronos, the servers and the client each cost per job. On a shared
 * machine this is steadier than wall-clock rates: other sessions slow a process down, but do not add to
 * its CPU time (much).
 *
 * Servers are found through the pidfiles of the benchmark's stack (scripts/bench.sh, BENCH_STACK_DIR):
 * nats-server, redis-server, and PostgreSQL's postmaster with every backend it forked (exited backends
 * through the postmaster's totals of waited-for children).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const STACK_DIR = resolve(process.env.BENCH_STACK_DIR ?? '.chronos/bench');
/** Linux's USER_HZ: /proc counts CPU time in these. */
const TICK_MS = 10;

/** utime, stime, cutime, cstime of a process, in ms; zeros when it is gone. */
function stat(pid: number): { own: number; children: number; ppid: number } {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted from after its closing parenthesis.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(fields[i - 3]);
    return { own: (n(14) + n(15)) * TICK_MS, children: (n(16) + n(17)) * TICK_MS, ppid: n(4) };
  } catch {
    return { own: 0, children: 0, ppid: 0 };
  }
}

function pidFrom(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function postgresMs(): number {
  const postmaster = pidFrom(join(STACK_DIR, 'pg', 'data', 'postmaster.pid'));
  if (!postmaster) return 0;
  const root = stat(postmaster);
  let total = root.own + root.children;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const child = stat(pid);
    if (child.ppid === postmaster) total += child.own;
  }
  return total;
}

export interface CpuSnapshot {
  /** Each named group of processes: CPU ms so far. */
  [group: string]: number;
}

/** CPU ms so far of the servers and of each group of pids given (`self` is this process). */
export function cpuSnapshot(groups: Record<string, number[]>): CpuSnapshot {
  const self = process.cpuUsage();
  const snapshot: CpuSnapshot = {
    client: (self.user + self.system) / 1000,
    natsServer: stat(pidFrom(join(STACK_DIR, 'nats.pid')) ?? 0).own,
    postgres: postgresMs(),
    redis: stat(pidFrom(join(STACK_DIR, 'redis.pid')) ?? 0).own,
  };
  for (const [name, pids] of Object.entries(groups)) snapshot[name] = pids.reduce((sum, pid) => sum + stat(pid).own, 0);
  return snapshot;
}

/** (after − before) / jobs for every group, in ms per job, to 3 decimals. */
export function cpuPerJob(before: CpuSnapshot, after: CpuSnapshot, jobs: number): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((key) => [key, Math.round(((after[key]! - (before[key] ?? 0)) / jobs) * 1000) / 1000]));
}
