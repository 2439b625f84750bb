import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { TEST_ENV } from './stack.js';

/** The compiled entry point: scripts/test.sh runs `npm run build` before jest, so dist/ is current. */
const MAIN = resolve(process.cwd(), 'dist/main.js');

/** One line of a process's stdout: its JSON (undefined when the line is not JSON) and when it was read. */
export interface OutputLine {
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON log lines of the process under test
  json: any;
  at: number;
}

interface Waiter {
  predicate: (line: OutputLine) => boolean;
  resolve: (line: OutputLine) => void;
}

/** Every process started here, so `stopAllProcesses` can leave nothing behind whatever a test did. */
const started = new Set<ChronosProcess>();
// Should jest exit without afterAll (a crash, a forced exit), children must not outlive it.
process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

/** A `node dist/main.js` child process: its stdout lines are kept, and can be waited for. */
export class ChronosProcess {
  readonly lines: OutputLine[] = [];
  readonly stderr: string[] = [];
  /** Resolves when the process has exited (code, or the signal that ended it). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private waiters: Waiter[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly name: string,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        ...TEST_ENV,
        CHRONOS_INSTANCE_ID: name,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.add(this);
    createInterface({ input: this.child.stdout! }).on('line', (text) => this.onLine(text));
    createInterface({ input: this.child.stderr! }).on('line', (text) => this.stderr.push(text));
    // A spawn that fails (no node, no dist/) still ends in 'exit'; without a listener 'error' would crash jest.
    this.child.on('error', (error) => this.stderr.push(`spawn error: ${error.message}`));
    this.exited = new Promise((resolveExit) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        started.delete(this);
        resolveExit(this.exitInfo);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  private onLine(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const line: OutputLine = { text, json, at: Date.now() };
    this.lines.push(line);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.predicate(line)) return true;
      waiter.resolve(line);
      return false;
    });
  }

  /** The first line (already read or still to come) that matches, failing after `timeoutMs` or if the process exits. */
  waitForLine(predicate: (line: OutputLine) => boolean, timeoutMs = 10_000, what = 'a matching line'): Promise<OutputLine> {
    const seen = this.lines.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<OutputLine>((resolveLine, reject) => {
      const fail = (why: string) => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.name}: ${why} waiting for ${what}\n${this.tail()}`));
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const waiter: Waiter = {
        predicate,
        resolve: (line) => {
          clearTimeout(timer);
          resolveLine(line);
        },
      };
      this.waiters.push(waiter);
      void this.exited.then(({ code, signal }) => {
        if (this.waiters.includes(waiter)) {
          clearTimeout(timer);
          fail(`exited (code ${code}, signal ${signal})`);
        }
      });
    });
  }

  /** Waits for a log line whose `msg` is `message`. */
  waitForMessage(message: string, timeoutMs = 10_000): Promise<OutputLine> {
    return this.waitForLine((line) => line.json?.msg === message, timeoutMs, `"${message}"`);
  }

  /** Whether a log line with this message has been read. */
  logged(message: string): OutputLine | undefined {
    return this.lines.find((line) => line.json?.msg === message);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) this.child.kill(signal);
  }

  /** SIGTERM and wait for a graceful exit; SIGKILL if it takes longer than `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.alive) return this.exited;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last lines of output, for failure messages. */
  tail(count = 20): string {
    return [...this.lines.slice(-count).map((l) => l.text), ...this.stderr.slice(-count)].join('\n');
  }
}

/** Starts `node dist/main.js` with the test stack's URLs and `env` (CHRONOS_ROLES etc.); resolves once it has started (a start takes over 20 s on a machine busy with other suites: the bound only ends a hung start). */
export async function startChronosProcess(name: string, env: Record<string, string>, timeoutMs = 60_000): Promise<ChronosProcess> {
  const child = new ChronosProcess(name, env);
  await child.waitForMessage('chronos started', timeoutMs);
  return child;
}

/** Kills every process still running (use in afterAll): gracefully if it can, SIGKILL otherwise. */
export async function stopAllProcesses(timeoutMs = 5_000): Promise<void> {
  await Promise.all([...started].map((child) => child.stop(timeoutMs)));
}
