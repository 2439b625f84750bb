import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The built CLI: scripts/test.sh runs `npm run build` before jest, so dist/ is current. */
const CLI = resolve(process.cwd(), 'dist/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Only what is given: the CLI must not pick up a developer's CHRONOS_TOKEN or CHRONOS_URL. */
const cliEnv = (env: Record<string, string>) => ({ PATH: process.env.PATH ?? '', ...env });

/** Runs `node dist/cli/main.js ...args` to its end. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveResult, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolveResult({ code, stdout, stderr }));
  });
}

/** CLIs still running, killed should jest exit without a test stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A CLI that runs on (events tail): its output lines as they come, and a way to wait for one. */
export class RunningCli {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.stdout.push(line));
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.stderr.push(line));
    running.add(this.child);
    this.exited = new Promise((resolveExit) =>
      this.child.on('close', (code) => {
        running.delete(this.child);
        resolveExit(code);
      }),
    );
  }

  /** The first line of `stream` that matches, polling until `timeoutMs`. */
  async waitForLine(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this[stream].find((candidate) => pattern.test(candidate));
      if (line) return line;
      if (Date.now() > deadline) throw new Error(`no ${stream} line matching ${pattern} within ${timeoutMs} ms:\n${[...this.stdout, ...this.stderr].join('\n')}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    }
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
