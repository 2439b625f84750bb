import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { ExecutionFailure, type ExecutionContext, type ExecutionLog, type Executor } from './executor.js';
import { isRecordableText, recordableText, utf8Boundary } from './recordable.js';

/**
 * `script` jobs: `{ command, args?, cwd?, env? }`, for admins only (checked at submit by the API).
 *
 * - `command` must be on CHRONOS_SCRIPT_ALLOWLIST (checked at submit with `assertScriptAllowed`, and again
 *   here at run time). It runs without a shell: `args` are passed as they are, nothing is expanded.
 * - The environment is clean: only `PATH=/usr/local/bin:/usr/bin:/bin` plus the job's `env`; nothing of the
 *   Chronos process (JWT_SECRET, DATABASE_URL, …) leaks in.
 * - stdout and stderr are written line by line into the execution's log (stdout `info`, stderr `warn`; metadata
 *   `{ stream, line }`, `line` counting from 1 within each stream). A line that is not valid UTF-8, or holds a
 *   NUL, is logged as text with U+FFFD in place of what is not text, and its exact bytes in the metadata
 *   (`encoding: "base64"`, `data`). Lines longer than 8 KiB are logged in pieces cut between characters. Up to
 *   SCRIPT_OUTPUT_CAP_BYTES in all; past it one `warn` line says so and the rest is counted but not logged
 *   (the pipes keep being drained, so the command never blocks on a full pipe).
 * - It runs in its own process group (`detached`). On abort (timeout, cancellation) the whole group gets
 *   SIGTERM, then SIGKILL after 2 s, and the run rejects with the signal's reason. Processes the command
 *   left behind in its group when it exits are terminated the same way: a run's processes do not outlive it
 *   (a process that starts its own session with `setsid` has left the group and is not tracked).
 * - `output` = `{ exitCode, signal, stdoutBytes, stderrBytes, truncated }`; exit code 0 is success, anything
 *   else a (retryable) failure.
 */
export interface ScriptPayload {
  command: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
}

export interface ScriptOutput {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdoutBytes: number;
  stderrBytes: number;
  truncated: boolean;
}

/** The commands script jobs may run (CHRONOS_SCRIPT_ALLOWLIST). */
export interface ScriptAllowlist {
  /** The command as a job may name it → the absolute path that is run. */
  readonly commands: ReadonlyMap<string, string>;
  /** The entries as given, for messages. */
  readonly entries: readonly string[];
}

/** The PATH scripts run with (and nothing else of the Chronos environment). */
export const SCRIPT_PATH = '/usr/local/bin:/usr/bin:/bin';
export const DEFAULT_SCRIPT_OUTPUT_CAP_BYTES = 1024 * 1024;
/** Between SIGTERM and SIGKILL of the process group. */
export const KILL_GRACE_MS = 2000;
/** A line longer than this is logged in pieces (the execution log keeps messages of up to 8192 bytes). */
const MAX_LINE_BYTES = 8192;

/**
 * Parses CHRONOS_SCRIPT_ALLOWLIST: comma-separated entries, each either
 *   - an absolute path (`/opt/jobs/backup.sh`): that file, named exactly so by jobs. Not required to exist at
 *     start-up (in a split deployment the API nodes need not have it); a missing file fails the run; or
 *   - a bare name (`pg_dump`): resolved at start-up on `searchPath` (the PATH of the Chronos process; only
 *     absolute directories), first match wins; jobs may name it by the bare name or by the resolved path,
 *     and the resolved path is what runs. A name found nowhere stops start-up.
 * Relative paths (`./x`, `bin/x`) are refused. Throws an Error naming the bad entry.
 */
export function parseScriptAllowlist(value: string | undefined, searchPath: string | undefined): ScriptAllowlist {
  const commands = new Map<string, string>();
  const entries: string[] = [];
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const fail = (why: string): never => {
      throw new Error(`CHRONOS_SCRIPT_ALLOWLIST: invalid entry "${entry}": ${why} (expected an absolute path like "/opt/jobs/backup.sh" or a command name found on PATH like "pg_dump")`);
    };
    if (entry.includes('\0')) fail('contains a NUL byte');
    if (path.isAbsolute(entry)) {
      const normalized = path.normalize(entry);
      if (normalized !== entry) fail(`not a normalized path (did you mean "${normalized}"?)`);
      commands.set(entry, entry);
    } else if (entry.includes('/')) {
      fail('a relative path (use an absolute path or a bare command name)');
    } else {
      const resolved = resolveOnPath(entry, searchPath);
      if (!resolved) fail(`no executable "${entry}" on PATH (${searchPath ?? ''})`);
      commands.set(entry, resolved!);
      if (!commands.has(resolved!)) commands.set(resolved!, resolved!);
    }
    entries.push(entry);
  }
  return { commands, entries };
}

function resolveOnPath(name: string, searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue; // an empty or relative PATH entry would depend on the working directory
    const candidate = path.join(dir, name);
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, fsConstants.X_OK);
        return candidate;
      }
    } catch {
      // not there, or not executable: keep looking
    }
  }
  return undefined;
}

/**
 * Submit-time check for `script` jobs (the API calls it after the admin check): throws ValidationError
 * SCRIPT_NOT_ALLOWED (HTTP 422, field `payload.command`) for a command not on the allowlist.
 */
export function assertScriptAllowed(payload: Record<string, unknown>, allowlist: ScriptAllowlist): void {
  const command = payload.command;
  if (typeof command === 'string' && allowlist.commands.has(command)) return;
  const allowed = allowlist.entries.length ? `allowed: ${allowlist.entries.join(', ')}` : 'CHRONOS_SCRIPT_ALLOWLIST is empty: no command may run';
  const message = `command ${JSON.stringify(command)} is not on CHRONOS_SCRIPT_ALLOWLIST (${allowed})`;
  throw new ValidationError('SCRIPT_NOT_ALLOWED', message, [{ field: 'payload.command', message }]);
}

export interface ScriptExecutorOptions {
  /** SCRIPT_OUTPUT_CAP_BYTES: bytes of stdout + stderr written to the log [1 MiB]. */
  outputCapBytes?: number;
  /** Between SIGTERM and SIGKILL [2000]. */
  killGraceMs?: number;
}

export class ScriptExecutor implements Executor {
  readonly type = 'script' as const;
  private readonly outputCapBytes: number;
  private readonly killGraceMs: number;

  constructor(
    private readonly allowlist: ScriptAllowlist,
    options: ScriptExecutorOptions = {},
  ) {
    this.outputCapBytes = options.outputCapBytes ?? DEFAULT_SCRIPT_OUTPUT_CAP_BYTES;
    this.killGraceMs = options.killGraceMs ?? KILL_GRACE_MS;
  }

  async run(context: ExecutionContext): Promise<unknown> {
    const payload = context.payload as unknown as ScriptPayload;
    const executable = typeof payload.command === 'string' ? this.allowlist.commands.get(payload.command) : undefined;
    if (!executable) throw new ExecutionFailure(`command ${JSON.stringify(payload.command)} is not on CHRONOS_SCRIPT_ALLOWLIST`, undefined, false);
    const args = payload.args ?? [];
    if (payload.cwd !== undefined) {
      const dir = await stat(payload.cwd).catch(() => undefined);
      if (!dir?.isDirectory()) throw new ExecutionFailure(`cwd ${payload.cwd} does not exist or is not a directory`, undefined, false);
    }
    context.signal.throwIfAborted();
    // The command and the number of arguments only: arguments and env values may carry secrets.
    context.log('info', `running ${payload.command}${executable !== payload.command ? ` (${executable})` : ''} with ${args.length} argument${args.length === 1 ? '' : 's'}`, {
      command: payload.command,
      executable,
      argCount: args.length,
      ...(payload.cwd !== undefined ? { cwd: payload.cwd } : {}),
      envKeys: Object.keys(payload.env ?? {}),
    });
    return this.spawn(executable, args, payload, context);
  }

  private spawn(executable: string, args: string[], payload: ScriptPayload, context: ExecutionContext): Promise<ScriptOutput> {
    const { signal, log } = context;
    const started = Date.now();
    return new Promise<ScriptOutput>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(executable, args, {
          shell: false,
          detached: true, // its own process group: killed as a whole
          cwd: payload.cwd,
          env: { PATH: SCRIPT_PATH, ...payload.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (error) {
        reject(new ExecutionFailure(`cannot start ${payload.command}: ${(error as Error).message}`, undefined, false));
        return;
      }
      const capture = new OutputCapture(this.outputCapBytes, log);
      child.stdout!.on('data', (chunk: Buffer) => capture.write('stdout', chunk));
      child.stderr!.on('data', (chunk: Buffer) => capture.write('stderr', chunk));
      const pid = child.pid;
      let aborted = false;
      let lingerTimer: NodeJS.Timeout | undefined;

      const terminateGroup = () => {
        if (pid === undefined) return;
        killGroup(pid, 'SIGTERM');
        // Unref'd: it must not hold the process open; the group is usually gone by then (ESRCH, ignored).
        setTimeout(() => killGroup(pid, 'SIGKILL'), this.killGraceMs).unref();
      };
      const onAbort = () => {
        if (aborted) return;
        aborted = true;
        const reason = signal.reason as unknown;
        log('warn', `aborting: ${reason instanceof Error ? reason.message : String(reason)}; terminating the process group (SIGTERM, SIGKILL after ${this.killGraceMs} ms)`);
        terminateGroup();
      };
      signal.addEventListener('abort', onAbort, { once: true });

      child.on('error', (error: NodeJS.ErrnoException) => {
        if (child.pid !== undefined) return; // a late stream error: 'close' settles
        signal.removeEventListener('abort', onAbort);
        const permanent = error.code === 'ENOENT' || error.code === 'EACCES' || error.code === 'ENOTDIR';
        reject(new ExecutionFailure(`cannot start ${payload.command}: ${error.code ?? error.message}${error.code === 'ENOENT' ? ' (no such file)' : ''}`, undefined, !permanent));
      });
      // Something still holding the pipes after the command exited (a background child) would delay
      // 'close' for ever: give it a moment, then end the group and stop reading.
      child.on('exit', () => {
        lingerTimer = setTimeout(() => {
          if (pid !== undefined) killGroup(pid, 'SIGKILL');
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, this.killGraceMs);
      });
      child.on('close', (code: number | null, exitSignal: NodeJS.Signals | null) => {
        clearTimeout(lingerTimer);
        signal.removeEventListener('abort', onAbort);
        capture.end();
        if (pid !== undefined && !aborted && groupAlive(pid)) {
          log('warn', 'processes the command left running in its process group were terminated');
          terminateGroup();
        }
        const output: ScriptOutput = { exitCode: code, signal: exitSignal, stdoutBytes: capture.bytes.stdout, stderrBytes: capture.bytes.stderr, truncated: capture.truncated };
        const ms = Date.now() - started;
        if (aborted) return reject(signal.reason);
        if (code === 0) {
          log('info', `exited with code 0 in ${ms} ms`, { ...output, durationMs: ms });
          return resolve(output);
        }
        const why = exitSignal ? `killed by ${exitSignal}` : `exited with code ${code}`;
        const hint = capture.lastStderrLine ? `: ${recordableText(capture.lastStderrLine, 200)}` : '';
        reject(new ExecutionFailure(`${why}${hint}`, output, true));
      });
    });
  }
}

/** Signals the process group `pgid`; a group that is gone (ESRCH) is fine. */
function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

type Stream = 'stdout' | 'stderr';

/** Splits both pipes into lines for the log, up to a byte cap; counts every byte either way. */
class OutputCapture {
  readonly bytes: Record<Stream, number> = { stdout: 0, stderr: 0 };
  truncated = false;
  lastStderrLine = '';
  private logged = 0;
  /** Lines logged per stream: each entry carries its number, so readers can restore the order within a stream. */
  private readonly lines: Record<Stream, number> = { stdout: 0, stderr: 0 };
  private readonly pending: Record<Stream, Buffer | undefined> = { stdout: undefined, stderr: undefined };

  constructor(
    private readonly cap: number,
    private readonly log: ExecutionLog,
  ) {}

  write(stream: Stream, chunk: Buffer): void {
    this.bytes[stream] += chunk.length;
    if (this.truncated) return; // keep draining, stop logging
    const previous = this.pending[stream];
    const data = previous ? Buffer.concat([previous, chunk]) : chunk;
    let start = 0;
    for (let newline = data.indexOf(10, start); newline >= 0; newline = data.indexOf(10, start)) {
      this.line(stream, data.subarray(start, newline));
      start = newline + 1;
      if (this.truncated) return;
    }
    while (data.length - start >= MAX_LINE_BYTES) {
      // A piece never ends inside a UTF-8 sequence: both pieces stay text.
      const end = utf8Boundary(data, start + MAX_LINE_BYTES);
      const cut = end > start ? end : start + MAX_LINE_BYTES;
      this.line(stream, data.subarray(start, cut));
      start = cut;
      if (this.truncated) return;
    }
    // A copy: the rest of a large chunk is not kept alive by a short partial line.
    this.pending[stream] = start < data.length ? Buffer.from(data.subarray(start)) : undefined;
  }

  /** The command is done: what is left without a final newline is a line too. */
  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.pending[stream];
      this.pending[stream] = undefined;
      if (rest?.length) this.line(stream, rest);
    }
  }

  private line(stream: Stream, bytes: Buffer): void {
    if (this.truncated) return;
    const size = bytes.length + 1;
    if (this.logged + size > this.cap) {
      this.truncated = true;
      this.pending.stdout = this.pending.stderr = undefined;
      this.log('warn', `output truncated: more than ${this.cap} bytes of stdout and stderr; the rest is not logged (still counted in stdoutBytes/stderrBytes)`, { capBytes: this.cap });
      return;
    }
    this.logged += size;
    const content = bytes.at(-1) === 13 ? bytes.subarray(0, -1) : bytes;
    // Invalid sequences decode to U+FFFD; the log makes NUL one too. The exact bytes go along when the text is not them.
    const text = content.toString('utf8');
    const exact = isRecordableText(content) ? {} : { encoding: 'base64', data: content.toString('base64') };
    if (stream === 'stderr' && text.trim()) this.lastStderrLine = text;
    this.log(stream === 'stdout' ? 'info' : 'warn', text, { stream, line: ++this.lines[stream], ...exact });
  }
}
